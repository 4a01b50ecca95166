-- See the SQLite migration 014: the open incidents in the history's order.
DROP INDEX incidents_open;
CREATE INDEX incidents_open ON incidents (created_at DESC, id) WHERE status <> 'resolved';
