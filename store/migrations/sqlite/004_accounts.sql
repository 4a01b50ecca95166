-- Accounts and the console: users with roles, their sessions, API tokens
-- owned by a user, incident templates, the postmortem's parts, and indexes
-- the audit log page filters by.

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name                 TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'commander', 'viewer')),
    -- PHC string, e.g. $argon2id$v=19$m=19456,t=2,p=1$salt$hash
    password_hash        TEXT NOT NULL,
    -- A password an admin or the CLI set is shown once and must be replaced
    -- at the next sign-in.
    must_change_password INTEGER NOT NULL DEFAULT 1,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    last_sign_in_at      DATETIME,
    disabled_at          DATETIME
);

-- Only a SHA-256 of the session id is stored: a copy of the database does
-- not let anyone sign in.
CREATE TABLE sessions (
    id_hash      BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Tokens made before accounts existed have no owner; the first admin adopts
-- them. role '' means "the owner's role"; otherwise the narrower of the two.
ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users(id);
ALTER TABLE api_tokens ADD COLUMN role TEXT NOT NULL DEFAULT '';

CREATE TABLE incident_templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'investigating',
    impact     TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

-- The postmortem's structured parts; incidents.postmortem_body stays its
-- summary and incidents.postmortem_published_at says whether it is public.
CREATE TABLE postmortems (
    incident_id TEXT PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    root_cause  TEXT NOT NULL DEFAULT '',
    resolution  TEXT NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL
);

CREATE TABLE postmortem_actions (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    description TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    due_date    TEXT NOT NULL DEFAULT '', -- YYYY-MM-DD or ''
    done        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX postmortem_actions_incident ON postmortem_actions(incident_id, position);

CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_type, actor_id);
