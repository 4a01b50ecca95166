-- Second factors for local accounts (TOTP): see the SQLite migration
-- 021_two_factor.sql for what each table is for.

CREATE TABLE user_factors (
    user_id       text PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sealed_secret bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    confirmed_at  timestamptz,
    last_step     bigint NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id   text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE pending_signins (
    token_hash bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    failures   integer NOT NULL DEFAULT 0
);
CREATE INDEX pending_signins_user ON pending_signins(user_id);

CREATE TABLE factor_required_roles (
    role text PRIMARY KEY CHECK (role IN ('admin', 'commander', 'viewer'))
);

INSERT INTO notify_settings (key, value) VALUES ('factor_key', sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea));
