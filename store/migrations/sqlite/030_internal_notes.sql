-- An update's internal note (issue 13): shown on private pages and to
-- their subscribers beside the public message, never on a public page,
-- in the change feed, or in anything public.
ALTER TABLE incident_updates ADD COLUMN internal_note TEXT NOT NULL DEFAULT '';
