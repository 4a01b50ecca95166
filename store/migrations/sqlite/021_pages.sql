-- Pages besides the default one (which shows every component and is not a
-- row): each is reached at /p/{slug}/ and, when it has one, at its own host
-- name, and shows the components chosen for it one by one and every
-- component of the groups chosen whole (including ones added later).
CREATE TABLE pages (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    host       TEXT NOT NULL DEFAULT '', -- lower case; '' for none
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX pages_host ON pages(host) WHERE host <> '';

CREATE TABLE page_components (
    page_id      TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components(id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, component_id)
);

CREATE TABLE page_groups (
    page_id  TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES component_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (page_id, group_id)
);
