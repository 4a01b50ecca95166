-- Core schema: components, incidents, maintenance, API tokens, the change
-- feed (events) and the audit log. Times are UTC, written by the driver in
-- SQLite's text format (_time_format=sqlite) into DATETIME columns.

CREATE TABLE component_groups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE components (
    id          TEXT PRIMARY KEY,
    group_id    TEXT REFERENCES component_groups(id) ON DELETE SET NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX components_group ON components(group_id, position);

-- Every status a component has ever had, from its creation on: the source of
-- the 90-day uptime bars.
CREATE TABLE component_status_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id TEXT NOT NULL REFERENCES components(id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    at           DATETIME NOT NULL
);
CREATE INDEX component_status_changes_component_at ON component_status_changes(component_id, at);

CREATE TABLE incidents (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    status                  TEXT NOT NULL,
    impact                  TEXT NOT NULL,
    created_at              DATETIME NOT NULL,
    updated_at              DATETIME NOT NULL,
    monitoring_at           DATETIME,
    resolved_at             DATETIME,
    postmortem_body         TEXT NOT NULL DEFAULT '',
    postmortem_published_at DATETIME
);
CREATE INDEX incidents_created ON incidents(created_at);
CREATE INDEX incidents_open ON incidents(status) WHERE status <> 'resolved';

CREATE TABLE incident_components (
    incident_id  TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components(id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX incident_components_component ON incident_components(component_id);

CREATE TABLE incident_updates (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, created_at);

-- The component changes an update made. The component's name is copied so the
-- timeline still reads right after a component is renamed or deleted.
CREATE TABLE incident_update_components (
    update_id      TEXT NOT NULL REFERENCES incident_updates(id) ON DELETE CASCADE,
    component_id   TEXT NOT NULL,
    component_name TEXT NOT NULL,
    old_status     TEXT NOT NULL,
    new_status     TEXT NOT NULL,
    PRIMARY KEY (update_id, component_id)
);

CREATE TABLE maintenances (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    scheduled_for   DATETIME NOT NULL,
    scheduled_until DATETIME NOT NULL,
    auto_transition INTEGER NOT NULL DEFAULT 1,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    started_at      DATETIME,
    completed_at    DATETIME
);
CREATE INDEX maintenances_status ON maintenances(status, scheduled_for);

CREATE TABLE maintenance_components (
    maintenance_id TEXT NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    component_id   TEXT NOT NULL REFERENCES components(id) ON DELETE CASCADE,
    PRIMARY KEY (maintenance_id, component_id)
);
CREATE INDEX maintenance_components_component ON maintenance_components(component_id);

CREATE TABLE maintenance_updates (
    id             TEXT PRIMARY KEY,
    maintenance_id TEXT NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at     DATETIME NOT NULL
);
CREATE INDEX maintenance_updates_maintenance ON maintenance_updates(maintenance_id, created_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);

-- The change feed: one row per committed change that alters what the public
-- surfaces show. Its id orders changes; readers (the snapshot, the live hub,
-- later other replicas) follow it instead of being called by the writer.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    created_at  DATETIME NOT NULL
);

-- Append-only record of every change: who, what, before and after (JSON).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          DATETIME NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
