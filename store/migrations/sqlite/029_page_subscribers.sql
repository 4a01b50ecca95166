-- herald:foreign-keys-off
-- Subscribers belong to a page (issue 13): '' is the default page, else a
-- pages.id (DeletePage removes the page's subscribers). An address may
-- follow several pages, once each, so the unique key becomes (page_id,
-- email): in SQLite that rebuilds the table, with foreign keys off for this
-- migration (dropping the old table would otherwise cascade to
-- subscriber_components); the runner checks them before it commits. rowid
-- is kept, as seq is the rowid of each row (006_sequences.sql).
CREATE TABLE subscribers_new (
    id             TEXT PRIMARY KEY,
    page_id        TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL, -- lower case
    status         TEXT NOT NULL, -- pending | confirmed | unsubscribed | suspended
    all_components INTEGER NOT NULL DEFAULT 1,
    -- Changing the nonce invalidates every link sent before.
    token_nonce    TEXT NOT NULL,
    bounces        INTEGER NOT NULL DEFAULT 0, -- consecutive permanent failures
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    confirmed_at   DATETIME,
    -- When Herald last mailed a confirmation or reminder: at most one an hour.
    last_mailed_at DATETIME,
    seq            INTEGER,
    maintenance_reminders INTEGER NOT NULL DEFAULT 1,
    UNIQUE (page_id, email)
);
INSERT INTO subscribers_new (rowid, id, email, status, all_components, token_nonce, bounces, last_error, created_at, updated_at, confirmed_at, last_mailed_at, seq, maintenance_reminders)
    SELECT rowid, id, email, status, all_components, token_nonce, bounces, last_error, created_at, updated_at, confirmed_at, last_mailed_at, seq, maintenance_reminders FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;
CREATE TRIGGER subscribers_seq AFTER INSERT ON subscribers WHEN NEW.seq IS NULL
BEGIN UPDATE subscribers SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;
CREATE UNIQUE INDEX subscribers_seq ON subscribers(seq);

-- An internal component is shown only on the pages that choose it, never
-- on the default page: nor are incidents and maintenances that name only
-- internal components, nor do the default page's subscribers hear of them.
ALTER TABLE components ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;
