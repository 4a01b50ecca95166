-- How a page looks: its accent colours, links, footer, custom CSS and the
-- images it shows. page_id '' is the default page, which is not a row of
-- pages (so there is no foreign key; DeletePage removes a page's row). The
-- images are in brand_assets by the SHA-256 of their bytes, which is also
-- their URL: a page that keeps its logo keeps its cached URL.
CREATE TABLE page_branding (
    page_id        text PRIMARY KEY,
    accent         text NOT NULL DEFAULT '', -- '#rrggbb' or '' for Herald's
    accent_dark    text NOT NULL DEFAULT '',
    site_url       text NOT NULL DEFAULT '',
    support_url    text NOT NULL DEFAULT '',
    footer         text NOT NULL DEFAULT '',
    css            text NOT NULL DEFAULT '',
    logo_hash      text NOT NULL DEFAULT '',
    logo_dark_hash text NOT NULL DEFAULT '',
    favicon_hash   text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL
);

CREATE TABLE brand_assets (
    hash         text PRIMARY KEY, -- hex SHA-256 of body
    content_type text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL
);
