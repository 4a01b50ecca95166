-- The write probe of /readyz: see the SQLite migration 022_write_probe_reminders.sql.
CREATE TABLE write_probe (
    id     integer PRIMARY KEY,
    filler text NOT NULL
);

-- Maintenance reminders and the subscribers' choice of them: see the SQLite
-- migration.
ALTER TABLE maintenances ADD COLUMN remind_before integer;
ALTER TABLE maintenances ADD COLUMN remind_at timestamptz;
ALTER TABLE maintenances ADD COLUMN reminded_at timestamptz;
CREATE INDEX maintenances_remind_at ON maintenances(remind_at) WHERE remind_at IS NOT NULL;

ALTER TABLE subscribers ADD COLUMN maintenance_reminders boolean NOT NULL DEFAULT true;
