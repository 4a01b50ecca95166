-- Viewers by email (access 'email'): the addresses and whole domains
-- ('@example.com') a page admits, space-separated, lower case; kept when
-- access is another kind, like ip_ranges.
ALTER TABLE pages ADD COLUMN viewers TEXT NOT NULL DEFAULT '';

-- A sign-in link emailed to a viewer of a page: single use, short-lived.
-- token_hash is the SHA-256 of the link's token, minted when the email is
-- claimed for sending (the token itself is never stored); NULL until then.
CREATE TABLE viewer_links (
    id         TEXT PRIMARY KEY,
    page_id    TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    token_hash BLOB UNIQUE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX viewer_links_expires ON viewer_links(expires_at);

-- A viewer signed in to one page by a link: the browser's cookie holds the
-- id, the database its SHA-256, so that every replica knows it.
CREATE TABLE viewer_sessions (
    id_hash    BLOB PRIMARY KEY,
    page_id    TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);
CREATE INDEX viewer_sessions_page ON viewer_sessions(page_id);
CREATE INDEX viewer_sessions_expires ON viewer_sessions(expires_at);
