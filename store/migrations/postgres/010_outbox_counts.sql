-- See the SQLite migration 015: the outbox's counts by channel and state,
-- kept by the transactions that change deliveries.
CREATE TABLE outbox_counts (
    channel text NOT NULL,
    state   text NOT NULL,
    n       bigint NOT NULL,
    PRIMARY KEY (channel, state)
);
INSERT INTO outbox_counts (channel, state, n)
SELECT channel, state, count(*) FROM outbox_deliveries GROUP BY channel, state;
