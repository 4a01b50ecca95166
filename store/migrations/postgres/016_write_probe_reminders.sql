-- The write probe of /readyz: see the SQLite migration 022_write_probe_reminders.sql.
CREATE TABLE write_probe (
    id     integer PRIMARY KEY,
    filler text NOT NULL
);
