-- Single sign-on (OpenID Connect). A user signed in through the provider
-- is linked to it by the issuer and the provider's subject, which stays
-- the same when the person's email changes there. An empty subject: a
-- local user only. An empty password_hash: no local password at all (a
-- user created by single sign-on).
ALTER TABLE users ADD COLUMN sso_issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_subject TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_sso ON users(sso_issuer, sso_subject) WHERE sso_subject <> '';

-- A sign-in sent to the provider and not yet back. Keyed by a hash of the
-- state the provider returns; browser_hash binds it to the browser that
-- began it (a cookie). Used once, and lives minutes.
CREATE TABLE sso_logins (
    state_hash   BLOB PRIMARY KEY,
    browser_hash BLOB NOT NULL,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    next         TEXT NOT NULL,
    created_at   DATETIME NOT NULL
);
CREATE INDEX sso_logins_created ON sso_logins(created_at);
