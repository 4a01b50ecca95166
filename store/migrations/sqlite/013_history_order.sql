-- The history lists incidents newest first, by id at one time: an index in
-- that order serves the first page and a keyset's seek without sorting
-- every incident ever resolved.
CREATE INDEX incidents_created_id ON incidents (created_at DESC, id);
