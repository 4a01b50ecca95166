-- See the SQLite migration 013: incidents in the history's order.
CREATE INDEX incidents_created_id ON incidents (created_at DESC, id);
