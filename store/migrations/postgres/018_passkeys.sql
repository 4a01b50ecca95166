-- Passkeys (WebAuthn): see the SQLite migration 024_passkeys.sql for what
-- each column and table is for.
CREATE TABLE webauthn_credentials (
    id               bytea PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name             text NOT NULL,
    public_key       bytea NOT NULL,
    sign_count       bigint NOT NULL DEFAULT 0,
    transports       text NOT NULL DEFAULT '',
    flags            integer NOT NULL DEFAULT 0,
    aaguid           bytea,
    attestation_type text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    last_used_at     timestamptz
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);

CREATE TABLE webauthn_ceremonies (
    browser_hash bytea PRIMARY KEY,
    kind         text NOT NULL,
    user_id      text NOT NULL DEFAULT '',
    session_data text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX webauthn_ceremonies_created ON webauthn_ceremonies(created_at);
