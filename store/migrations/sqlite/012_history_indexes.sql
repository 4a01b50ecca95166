-- Costs that stay flat as history grows. The open incidents by age: the
-- snapshot and the resting-status check start from them, and there are
-- few whatever the history (this replaces the index on status alone,
-- which could not serve ORDER BY created_at). Status changes by time: the
-- 90 days the uptime bars draw are read without walking older ones. And
-- an update's component changes by component, for what reads them so.
DROP INDEX incidents_open;
CREATE INDEX incidents_open ON incidents (created_at) WHERE status <> 'resolved';
CREATE INDEX component_status_changes_at ON component_status_changes (at);
CREATE INDEX incident_update_components_component ON incident_update_components (component_id);
