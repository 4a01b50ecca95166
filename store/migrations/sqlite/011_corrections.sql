-- Corrections: an update's message can be edited (the public timeline says
-- when) and an update withdrawn (kept, with the reason, for the record and
-- for the component history it wrote; shown nowhere). submission_key is the
-- form's or the API client's idempotency key: a second submit of the same
-- form returns what the first made.
ALTER TABLE incident_updates ADD COLUMN edited_at DATETIME;
ALTER TABLE incident_updates ADD COLUMN deleted_at DATETIME;
ALTER TABLE incident_updates ADD COLUMN deleted_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_updates ADD COLUMN submission_key TEXT;
CREATE UNIQUE INDEX incident_updates_submission ON incident_updates (submission_key) WHERE submission_key IS NOT NULL;
