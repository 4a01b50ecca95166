-- When the person at a session last proved it is them (a code, a passkey or
-- their password) after signing in; NULL: only at sign-in (created_at).
-- The sensitive actions ask again once it is older than a few minutes.
ALTER TABLE sessions ADD COLUMN confirmed_at DATETIME;
