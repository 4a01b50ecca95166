-- An update's internal note: see the SQLite migration of the same name.
ALTER TABLE incident_updates ADD COLUMN internal_note text NOT NULL DEFAULT '';
