-- Passkeys (WebAuthn). One row per registered credential: its id (as the
-- authenticator made it), the public key that checks its signatures, the
-- signature counter it last reported (a lower or equal one later is a
-- possible clone), and what the library needs to check it again: flags,
-- AAGUID, attestation type, transports (comma-separated, hints for the
-- browser). name is the user's own label.
CREATE TABLE webauthn_credentials (
    id               BLOB PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    public_key       BLOB NOT NULL,
    sign_count       INTEGER NOT NULL DEFAULT 0,
    transports       TEXT NOT NULL DEFAULT '',
    flags            INTEGER NOT NULL DEFAULT 0,
    aaguid           BLOB,
    attestation_type TEXT NOT NULL DEFAULT '',
    created_at       DATETIME NOT NULL,
    last_used_at     DATETIME
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);

-- A WebAuthn ceremony under way: the challenge and what the library must
-- see again at the finish (session_data, JSON). Keyed by a hash of a
-- cookie only the browser that began it holds; used once; lives minutes.
-- user_id is the signed-in user registering, or the user of a pending
-- sign-in asking for the passkey as second factor; empty for a sign-in by
-- passkey alone.
CREATE TABLE webauthn_ceremonies (
    browser_hash BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    session_data TEXT NOT NULL,
    created_at   DATETIME NOT NULL
);
CREATE INDEX webauthn_ceremonies_created ON webauthn_ceremonies(created_at);
