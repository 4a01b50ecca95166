-- An incident narrowed to chosen pages (issue 13): shown on those of them
-- that show what it affects, and nowhere else. page_id is a pages.id or
-- 'default' for the default page; no foreign key, so that a page removed
-- leaves the incident narrowed to the others (never widened to all).
-- No rows: not narrowed.
CREATE TABLE incident_pages (
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    page_id     TEXT NOT NULL,
    PRIMARY KEY (incident_id, page_id)
);
-- A job's narrowing, as its components: whose subscribers hear of it.
ALTER TABLE outbox_jobs ADD COLUMN pages TEXT NOT NULL DEFAULT '[]';
