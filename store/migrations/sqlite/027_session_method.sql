-- How a session's person signed in: 'password' (with its second factor,
-- if any), 'passkey' or 'sso'. When single sign-on becomes required, the
-- sessions that did not come through it end. Sessions from before this
-- column count as password ones.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
