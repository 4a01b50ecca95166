-- Single sign-on (OpenID Connect): see the SQLite migration 021_sso.sql
-- for what each column and table is for.
ALTER TABLE users ADD COLUMN sso_issuer text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_subject text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_sso ON users(sso_issuer, sso_subject) WHERE sso_subject <> '';

CREATE TABLE sso_logins (
    state_hash   bytea PRIMARY KEY,
    browser_hash bytea NOT NULL,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    next         text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX sso_logins_created ON sso_logins(created_at);
