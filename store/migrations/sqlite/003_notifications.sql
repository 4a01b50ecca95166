-- Notifications: email subscribers, webhook endpoints, and the outbox that
-- carries every notification from the change that caused it to each
-- recipient, durably. Jobs are written in the same transaction as the
-- change (one row per change, however many subscribers there are); the
-- dispatcher expands each job into one delivery row per recipient, in
-- batches, and claims deliveries with a lease.

-- Installation secrets. token_key signs the unsubscribe / manage /
-- confirmation links, so those tokens are never stored at all.
CREATE TABLE notify_settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
INSERT INTO notify_settings (key, value) VALUES ('token_key', randomblob(32));

CREATE TABLE subscribers (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE, -- lower case
    status         TEXT NOT NULL,        -- pending | confirmed | unsubscribed | suspended
    all_components INTEGER NOT NULL DEFAULT 1,
    -- Changing the nonce invalidates every link sent before.
    token_nonce    TEXT NOT NULL,
    bounces        INTEGER NOT NULL DEFAULT 0, -- consecutive permanent failures
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    confirmed_at   DATETIME,
    -- When Herald last mailed a confirmation or reminder: at most one an hour.
    last_mailed_at DATETIME
);

CREATE TABLE subscriber_components (
    subscriber_id TEXT NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    component_id  TEXT NOT NULL REFERENCES components(id) ON DELETE CASCADE,
    PRIMARY KEY (subscriber_id, component_id)
);
CREATE INDEX subscriber_components_component ON subscriber_components(component_id);

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    -- The signing key. It must be readable to sign, so it is not hashed;
    -- the API shows it once, at creation and rotation.
    secret          TEXT NOT NULL,
    events          TEXT NOT NULL DEFAULT '[]', -- JSON array of kinds; empty means all
    components      TEXT NOT NULL DEFAULT '[]', -- JSON array of component ids; empty means all
    format          TEXT NOT NULL DEFAULT 'statuspage', -- statuspage | slack
    status          TEXT NOT NULL DEFAULT 'active',     -- active | paused | disabled
    disabled_reason TEXT NOT NULL DEFAULT '',
    failing_since   DATETIME,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);

CREATE TABLE outbox_jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL, -- incident.created, maintenance.started, subscriber.confirm, …
    object_type    TEXT NOT NULL,
    object_id      TEXT NOT NULL,
    components     TEXT NOT NULL DEFAULT '[]', -- the component ids it touches, for filters
    payload        TEXT NOT NULL,              -- what to tell, as it was at the change
    subscriber_id  TEXT,                       -- set for a message to one subscriber only
    email          INTEGER NOT NULL,           -- whether it goes to email subscribers
    webhook        INTEGER NOT NULL,           -- whether it goes to webhooks
    -- Expansion progress: the rowid of the last subscriber / webhook
    -- expanded. Advanced in the same transaction as the deliveries it made.
    email_cursor   INTEGER NOT NULL DEFAULT 0,
    webhook_cursor INTEGER NOT NULL DEFAULT 0,
    expanded_at    DATETIME,
    lease_owner    TEXT,
    lease_until    DATETIME,
    created_at     DATETIME NOT NULL
);
CREATE INDEX outbox_jobs_unexpanded ON outbox_jobs(id) WHERE expanded_at IS NULL;

-- One row per job and recipient. While state is 'sending', next_attempt_at
-- is the end of the claim's lease: a crashed claim is simply due again.
CREATE TABLE outbox_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          INTEGER NOT NULL REFERENCES outbox_jobs(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL, -- email | webhook
    recipient_id    TEXT NOT NULL, -- subscriber or webhook id
    state           TEXT NOT NULL, -- pending | sending | sent | failed | skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_owner     TEXT,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME,
    UNIQUE (job_id, channel, recipient_id)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries(channel, next_attempt_at) WHERE state IN ('pending', 'sending');
-- The webhook delivery log, newest first. Email deliveries are left out:
-- an index entry per email would slow the 100,000-row expansion for a query
-- nothing makes.
CREATE INDEX outbox_deliveries_webhook_log ON outbox_deliveries(recipient_id, id) WHERE channel = 'webhook';

-- Every webhook attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES outbox_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          DATETIME NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    latency_ms  INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
