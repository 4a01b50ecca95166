-- A maintenance narrowed to chosen pages, as an incident is
-- (031_incident_pages.sql); its cancellation keeps the list, so that a
-- calendar sees it cancelled only where it was shown.
CREATE TABLE maintenance_pages (
    maintenance_id TEXT NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    page_id        TEXT NOT NULL,
    PRIMARY KEY (maintenance_id, page_id)
);
ALTER TABLE maintenance_cancellations ADD COLUMN pages TEXT NOT NULL DEFAULT '[]';
