-- A row /readyz writes and deletes again while the database cannot write,
-- so that an idle server notices when it can write again. The filler is
-- larger than a page: the probe must be able to grow the file, as a real
-- change would.
CREATE TABLE write_probe (
    id     INTEGER PRIMARY KEY,
    filler TEXT NOT NULL
);
