-- Change-feed events carry the changed object as the API shows it, so that a
-- live client that reconnects can be replayed exactly what it missed.
ALTER TABLE events ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
