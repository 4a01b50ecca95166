-- See the SQLite migration 012: the open incidents by age, status changes
-- by time, and an update's component changes by component.
DROP INDEX incidents_open;
CREATE INDEX incidents_open ON incidents (created_at) WHERE status <> 'resolved';
CREATE INDEX component_status_changes_at ON component_status_changes (at);
CREATE INDEX incident_update_components_component ON incident_update_components (component_id);
