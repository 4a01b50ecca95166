-- See the SQLite migration 028_sso_confirm.sql.
ALTER TABLE sso_logins ADD COLUMN confirm_user text NOT NULL DEFAULT '';
