-- See the SQLite migration 016: each job's results by channel, kept after
-- its deliveries are pruned, and when a job's delivered ones were.
CREATE TABLE outbox_results (
    job_id           bigint NOT NULL,
    channel          text NOT NULL,
    kind             text NOT NULL,
    object_type      text NOT NULL,
    object_id        text NOT NULL,
    created_at       timestamptz NOT NULL,
    sent             bigint NOT NULL DEFAULT 0,
    failed           bigint NOT NULL DEFAULT 0,
    skipped          bigint NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    last_attempt_at  timestamptz,
    PRIMARY KEY (job_id, channel)
);
CREATE INDEX outbox_results_object ON outbox_results (object_type, object_id);
INSERT INTO outbox_results (job_id, channel, kind, object_type, object_id, created_at, sent, failed, skipped, first_attempt_at, last_attempt_at)
SELECT j.id, d.channel, j.kind, j.object_type, j.object_id, j.created_at,
    sum(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END), sum(CASE WHEN d.state = 'failed' THEN 1 ELSE 0 END),
    sum(CASE WHEN d.state = 'skipped' THEN 1 ELSE 0 END), min(d.sent_at), max(d.sent_at)
FROM outbox_deliveries d JOIN outbox_jobs j ON j.id = d.job_id
GROUP BY j.id, d.channel, j.kind, j.object_type, j.object_id, j.created_at;

ALTER TABLE outbox_jobs ADD COLUMN delivered_pruned_at timestamptz;
CREATE INDEX outbox_jobs_unpruned ON outbox_jobs (created_at) WHERE delivered_pruned_at IS NULL;
