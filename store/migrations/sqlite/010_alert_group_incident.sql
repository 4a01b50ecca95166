-- The alerts behind a draft or an incident are read by its id (the
-- dashboard reads them for every draft): without this, each read scans
-- every alert group ever received.
CREATE INDEX alert_groups_incident ON alert_groups (incident_id);
