-- See the SQLite migration 025_session_confirmed.sql.
ALTER TABLE sessions ADD COLUMN confirmed_at timestamptz;
