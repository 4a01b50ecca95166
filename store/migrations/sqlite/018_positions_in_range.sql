-- Positions are bounded to ±1,000,000 (store.MaxPosition). Before the
-- bound, a position of 2^63-1 was taken, and the next create after it
-- stored max+1, which SQLite keeps as a REAL: the group's components could
-- then not be read back. Bring every position into range, as an integer.
-- (PostgreSQL's integer column never took such a value.)
UPDATE components SET position = 1000000 WHERE typeof(position) <> 'integer' AND position > 0 OR position > 1000000;
UPDATE components SET position = -1000000 WHERE typeof(position) <> 'integer' AND position < 0 OR position < -1000000;
UPDATE component_groups SET position = 1000000 WHERE typeof(position) <> 'integer' AND position > 0 OR position > 1000000;
UPDATE component_groups SET position = -1000000 WHERE typeof(position) <> 'integer' AND position < 0 OR position < -1000000;
