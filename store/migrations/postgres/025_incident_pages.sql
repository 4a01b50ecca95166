-- An incident narrowed to chosen pages: see the SQLite migration of the
-- same name.
CREATE TABLE incident_pages (
    incident_id text NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    page_id     text NOT NULL,
    PRIMARY KEY (incident_id, page_id)
);
ALTER TABLE outbox_jobs ADD COLUMN pages text NOT NULL DEFAULT '[]';
