-- Integrations: incidents proposed by Alertmanager, and what Herald last
-- heard about each alert.

-- A draft is an incident an integration proposes and a commander has not yet
-- approved. It is kept apart from incidents on purpose: every public surface
-- (pages, the v2 API, feeds, badges, live events, notifications) reads
-- incidents, so a draft cannot leak onto any of them, present or future.
-- Publishing replays its updates as a real incident under the same id.
CREATE TABLE incident_drafts (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL,           -- "alertmanager"
    name       TEXT NOT NULL,
    impact     TEXT NOT NULL,
    updates    TEXT NOT NULL,           -- JSON array of pending updates, oldest first
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

-- One Alertmanager group (its groupKey) and the incident, or draft, its
-- alerts currently feed. Later alerts of the group join that incident while
-- it is open.
CREATE TABLE alert_groups (
    group_key   TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,          -- an incident or a draft id
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- The last state Herald acted on for each alert of a group. A payload is
-- compared with it, so a repeated notification changes nothing.
CREATE TABLE alert_states (
    group_key    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    component_id TEXT NOT NULL,
    status       TEXT NOT NULL,         -- the component status the alert asks for
    firing       INTEGER NOT NULL,
    updated_at   DATETIME NOT NULL,
    PRIMARY KEY (group_key, fingerprint)
);
