-- What each job's notifications came to, by channel: how many deliveries
-- were sent, failed for good or skipped, and when the first and the last
-- attempt were made. Kept by the transactions that record results, and kept
-- after the deliveries themselves are pruned (sent ones after a week,
-- failed ones after a month): the lasting record of who was told.
CREATE TABLE outbox_results (
    job_id           INTEGER NOT NULL, -- no reference: it outlives the job
    channel          TEXT NOT NULL,
    kind             TEXT NOT NULL,    -- the job's, as it was
    object_type      TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    created_at       DATETIME NOT NULL,
    sent             INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    skipped          INTEGER NOT NULL DEFAULT 0,
    first_attempt_at DATETIME,
    last_attempt_at  DATETIME,
    PRIMARY KEY (job_id, channel)
);
CREATE INDEX outbox_results_object ON outbox_results (object_type, object_id);
-- The deliveries already there are the results so far. Their attempts left
-- no times but those of the messages sent.
INSERT INTO outbox_results (job_id, channel, kind, object_type, object_id, created_at, sent, failed, skipped, first_attempt_at, last_attempt_at)
SELECT j.id, d.channel, j.kind, j.object_type, j.object_id, j.created_at,
    sum(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END), sum(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END),
    sum(CASE WHEN d.state = 'skipped' THEN 1 ELSE 0 END), min(d.sent_at), max(d.sent_at)
FROM outbox_deliveries d JOIN outbox_jobs j ON j.id = d.job_id
GROUP BY j.id, d.channel, j.kind, j.object_type, j.object_id, j.created_at;

-- When a job's sent and skipped deliveries were pruned, leaving its
-- failures for the delivery log: each job is thinned once.
ALTER TABLE outbox_jobs ADD COLUMN delivered_pruned_at DATETIME;
CREATE INDEX outbox_jobs_unpruned ON outbox_jobs (created_at) WHERE delivered_pruned_at IS NULL;
