-- Explicit insertion-order columns, so that the SQL the store shares with
-- PostgreSQL never names SQLite's rowid: the timelines' tie-break for updates
-- posted in the same instant (a draft published with all its updates), and
-- the expansion cursors and paging over subscribers and webhooks. A trigger
-- fills seq from the rowid, so existing rows and cursors keep their values.
ALTER TABLE incident_updates ADD COLUMN seq INTEGER;
UPDATE incident_updates SET seq = rowid;
CREATE TRIGGER incident_updates_seq AFTER INSERT ON incident_updates WHEN NEW.seq IS NULL
BEGIN UPDATE incident_updates SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;

ALTER TABLE maintenance_updates ADD COLUMN seq INTEGER;
UPDATE maintenance_updates SET seq = rowid;
CREATE TRIGGER maintenance_updates_seq AFTER INSERT ON maintenance_updates WHEN NEW.seq IS NULL
BEGIN UPDATE maintenance_updates SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;

ALTER TABLE subscribers ADD COLUMN seq INTEGER;
UPDATE subscribers SET seq = rowid;
CREATE TRIGGER subscribers_seq AFTER INSERT ON subscribers WHEN NEW.seq IS NULL
BEGIN UPDATE subscribers SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;
CREATE UNIQUE INDEX subscribers_seq ON subscribers(seq);

ALTER TABLE webhooks ADD COLUMN seq INTEGER;
UPDATE webhooks SET seq = rowid;
CREATE TRIGGER webhooks_seq AFTER INSERT ON webhooks WHEN NEW.seq IS NULL
BEGIN UPDATE webhooks SET seq = NEW.rowid WHERE rowid = NEW.rowid; END;
CREATE UNIQUE INDEX webhooks_seq ON webhooks(seq);
