-- See the SQLite migration 010: the alerts behind an incident, by its id.
CREATE INDEX alert_groups_incident ON alert_groups (incident_id);
