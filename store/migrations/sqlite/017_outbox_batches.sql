-- The recipients of an email fan-out, a few hundred subscribers a row: a
-- batch is the subscribers after seq_from up to seq_to who want the job
-- when it is claimed. A batch that is sent leaves its counts, not a row per
-- recipient (100,000 rows an update were most of the dispatcher's work and
-- of the database's growth); a recipient whose message must be tried again,
-- or failed, gets a delivery of its own.
CREATE TABLE outbox_batches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          INTEGER NOT NULL REFERENCES outbox_jobs(id) ON DELETE CASCADE,
    seq_from        INTEGER NOT NULL, -- subscribers after this seq …
    seq_to          INTEGER NOT NULL, -- … up to and including this one
    recipients      INTEGER NOT NULL, -- how many wanted it when the batch was made
    state           TEXT NOT NULL,    -- pending | sending | done
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- While sending, the end of the claim's lease, as for a delivery.
    next_attempt_at DATETIME NOT NULL,
    lease_owner     TEXT,
    claimed         INTEGER NOT NULL DEFAULT 0, -- recipients the last claim handed out
    recorded        INTEGER NOT NULL DEFAULT 0, -- results recorded since
    sent            INTEGER NOT NULL DEFAULT 0,
    skipped         INTEGER NOT NULL DEFAULT 0,
    created_at      DATETIME NOT NULL,
    finished_at     DATETIME
);
CREATE INDEX outbox_batches_due ON outbox_batches (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX outbox_batches_job ON outbox_batches (job_id);
