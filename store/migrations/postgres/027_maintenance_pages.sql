-- A maintenance narrowed to chosen pages: see the SQLite migration of the
-- same name.
CREATE TABLE maintenance_pages (
    maintenance_id text NOT NULL REFERENCES maintenances(id) ON DELETE CASCADE,
    page_id        text NOT NULL,
    PRIMARY KEY (maintenance_id, page_id)
);
ALTER TABLE maintenance_cancellations ADD COLUMN pages text NOT NULL DEFAULT '[]';
