-- A row /readyz writes and deletes again while the database cannot write,
-- so that an idle server notices when it can write again. The filler is
-- larger than a page: the probe must be able to grow the file, as a real
-- change would.
CREATE TABLE write_probe (
    id     INTEGER PRIMARY KEY,
    filler TEXT NOT NULL
);

-- Maintenance reminders. remind_before is minutes before the start (NULL:
-- no reminder). remind_at is when the reminder is due, NULL once it is
-- sent, or when none is (the window started, or its reminder would have
-- fallen before it was scheduled); reminded_at is when it was sent.
ALTER TABLE maintenances ADD COLUMN remind_before INTEGER;
ALTER TABLE maintenances ADD COLUMN remind_at DATETIME;
ALTER TABLE maintenances ADD COLUMN reminded_at DATETIME;
CREATE INDEX maintenances_remind_at ON maintenances(remind_at) WHERE remind_at IS NOT NULL;

-- A subscriber who gets maintenance notices gets their reminders too,
-- unless they said otherwise on their preferences page.
ALTER TABLE subscribers ADD COLUMN maintenance_reminders INTEGER NOT NULL DEFAULT 1;
