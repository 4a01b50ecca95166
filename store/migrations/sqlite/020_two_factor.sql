-- Second factors for local accounts (TOTP), their recovery codes, the
-- half-finished sign-ins waiting for a code, and the roles that must have
-- a second factor.

-- The TOTP seed is sealed (AES-GCM) with factor_key, so the users' seeds
-- alone, copied out of this table, do not give their codes away.
-- confirmed_at NULL: enrolment begun, no valid code typed yet.
-- last_step is the last 30-second step a code was accepted for: a code is
-- good once.
CREATE TABLE user_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret BLOB NOT NULL,
    created_at    DATETIME NOT NULL,
    confirmed_at  DATETIME,
    last_step     INTEGER NOT NULL DEFAULT 0
);

-- Only a SHA-256 of each code: they are random, so a slow hash buys nothing.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at   DATETIME,
    PRIMARY KEY (user_id, code_hash)
);

-- A password was right and a code is awaited. Not a session: it signs
-- nobody in, lives minutes, and is deleted when used or tried too often.
CREATE TABLE pending_signins (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pending_signins_user ON pending_signins(user_id);

CREATE TABLE factor_required_roles (
    role TEXT PRIMARY KEY CHECK (role IN ('admin', 'commander', 'viewer'))
);

INSERT INTO notify_settings (key, value) VALUES ('factor_key', randomblob(32));
