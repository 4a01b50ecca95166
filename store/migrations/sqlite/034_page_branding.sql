-- How a page looks: its accent colours, links, footer, custom CSS and the
-- images it shows. page_id '' is the default page, which is not a row of
-- pages (so there is no foreign key; DeletePage removes a page's row). The
-- images are in brand_assets by the SHA-256 of their bytes, which is also
-- their URL: a page that keeps its logo keeps its cached URL.
CREATE TABLE page_branding (
    page_id        TEXT PRIMARY KEY,
    accent         TEXT NOT NULL DEFAULT '', -- '#rrggbb' or '' for Herald's
    accent_dark    TEXT NOT NULL DEFAULT '',
    site_url       TEXT NOT NULL DEFAULT '',
    support_url    TEXT NOT NULL DEFAULT '',
    footer         TEXT NOT NULL DEFAULT '',
    css            TEXT NOT NULL DEFAULT '',
    logo_hash      TEXT NOT NULL DEFAULT '',
    logo_dark_hash TEXT NOT NULL DEFAULT '',
    favicon_hash   TEXT NOT NULL DEFAULT '',
    updated_at     DATETIME NOT NULL
);

CREATE TABLE brand_assets (
    hash         TEXT PRIMARY KEY, -- hex SHA-256 of body
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    created_at   DATETIME NOT NULL
);
