-- What a calendar needs to update an event rather than duplicate it: a
-- revision that rises each time a window is moved or changed (its SEQUENCE),
-- and, for a window called off, a record that outlives its row, so that the
-- calendar feed can still say it was cancelled.
ALTER TABLE maintenances ADD COLUMN revision integer NOT NULL DEFAULT 0;

CREATE TABLE maintenance_cancellations (
    id              text PRIMARY KEY, -- the maintenance's id
    name            text NOT NULL,
    scheduled_for   timestamptz NOT NULL,
    scheduled_until timestamptz NOT NULL,
    components      text NOT NULL DEFAULT '[]', -- JSON array of component ids
    revision        integer NOT NULL, -- the maintenance's last revision plus one
    created_at      timestamptz NOT NULL,
    cancelled_at    timestamptz NOT NULL
);
CREATE INDEX maintenance_cancellations_at ON maintenance_cancellations(cancelled_at);
