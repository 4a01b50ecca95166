-- See the SQLite migration 032_page_viewers.sql.
ALTER TABLE pages ADD COLUMN viewers text NOT NULL DEFAULT '';

CREATE TABLE viewer_links (
    id         text PRIMARY KEY,
    page_id    text NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    email      text NOT NULL,
    token_hash bytea UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX viewer_links_expires ON viewer_links(expires_at);

CREATE TABLE viewer_sessions (
    id_hash    bytea PRIMARY KEY,
    page_id    text NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    email      text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX viewer_sessions_page ON viewer_sessions(page_id);
CREATE INDEX viewer_sessions_expires ON viewer_sessions(expires_at);
