-- See the SQLite migration 011: edited and withdrawn updates, and the
-- submission key that makes a double submit create one update.
ALTER TABLE incident_updates ADD COLUMN edited_at timestamptz;
ALTER TABLE incident_updates ADD COLUMN deleted_at timestamptz;
ALTER TABLE incident_updates ADD COLUMN deleted_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_updates ADD COLUMN submission_key TEXT;
CREATE UNIQUE INDEX incident_updates_submission ON incident_updates (submission_key) WHERE submission_key IS NOT NULL;
