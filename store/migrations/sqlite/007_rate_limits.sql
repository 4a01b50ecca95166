-- Attempts counted against a limit (sign-in failures, subscribe-form
-- posts), kept in the database so that every replica counts the same ones
-- and a restart forgets nothing.
CREATE TABLE rate_attempts (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL, -- "signin-account:alice@example.com", "subscribe:192.0.2.0", …
    at  DATETIME NOT NULL
);
CREATE INDEX rate_attempts_key ON rate_attempts(key, at);
CREATE INDEX rate_attempts_at ON rate_attempts(at);
