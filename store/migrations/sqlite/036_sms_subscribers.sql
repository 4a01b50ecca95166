-- SMS subscribers: a phone number (E.164) that asked to hear of what a
-- page shows (page_id '' the default page, as subscribers). Its status runs
-- pending → confirmed → stopped. The 6-digit confirmation code is stored
-- as its SHA-256 only, with when it expires, how many tries were made on
-- it and when it was sent (a new code at most once a minute). token_nonce
-- signs its stop link; components is a JSON list ([] every component).
-- sms_sent counts the messages an incident sent it (the per-incident cap);
-- sms_log is every message sent, with the price the provider reported.
CREATE TABLE sms_subscribers (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    page_id         TEXT NOT NULL DEFAULT '',
    phone           TEXT NOT NULL,
    status          TEXT NOT NULL,
    components      TEXT NOT NULL DEFAULT '[]',
    code_hash       TEXT NOT NULL DEFAULT '',
    code_expires_at DATETIME,
    code_tries      INTEGER NOT NULL DEFAULT 0,
    code_sent_at    DATETIME,
    token_nonce     TEXT NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    confirmed_at    DATETIME,
    UNIQUE (page_id, phone)
);

CREATE TABLE sms_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber_id TEXT NOT NULL,
    object_id     TEXT NOT NULL DEFAULT '', -- the incident or maintenance; '' for a code
    provider_id   TEXT NOT NULL DEFAULT '',
    price         TEXT NOT NULL DEFAULT '', -- as the provider reports it, e.g. "-0.00750"
    price_unit    TEXT NOT NULL DEFAULT '',
    skipped       TEXT NOT NULL DEFAULT '', -- why it was not sent: a cap
    created_at    DATETIME NOT NULL
);
CREATE INDEX sms_log_subscriber ON sms_log (subscriber_id, object_id);
CREATE INDEX sms_log_created ON sms_log (created_at);

-- Whether a job goes to SMS subscribers, and how far its expansion came
-- (the seq of the last SMS subscriber expanded; -1 when done).
ALTER TABLE outbox_jobs ADD COLUMN sms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox_jobs ADD COLUMN sms_cursor INTEGER NOT NULL DEFAULT 0;
