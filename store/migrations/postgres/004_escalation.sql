-- Default to telling; see the SQLite migration 009.
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
ALTER TABLE users ADD COLUMN notify_drafts boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN notify_overdue boolean NOT NULL DEFAULT true;
ALTER TABLE webhooks ADD COLUMN audience text NOT NULL DEFAULT 'subscribers';
