-- What a calendar needs to update an event rather than duplicate it: a
-- revision that rises each time a window is moved or changed (its SEQUENCE),
-- and, for a window called off, a record that outlives its row, so that the
-- calendar feed can still say it was cancelled.
ALTER TABLE maintenances ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE TABLE maintenance_cancellations (
    id              TEXT PRIMARY KEY, -- the maintenance's id
    name            TEXT NOT NULL,
    scheduled_for   DATETIME NOT NULL,
    scheduled_until DATETIME NOT NULL,
    components      TEXT NOT NULL DEFAULT '[]', -- JSON array of component ids
    revision        INTEGER NOT NULL, -- the maintenance's last revision plus one
    created_at      DATETIME NOT NULL,
    cancelled_at    DATETIME NOT NULL
);
CREATE INDEX maintenance_cancellations_at ON maintenance_cancellations(cancelled_at);
