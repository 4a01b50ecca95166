-- See the SQLite migration 027_session_method.sql.
ALTER TABLE sessions ADD COLUMN method text NOT NULL DEFAULT 'password';
