-- Default to telling: the escalation policy (settings), who on the team
-- hears of drafts and overdue incidents, and webhooks for the team alone.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL -- JSON
);
ALTER TABLE users ADD COLUMN notify_drafts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN notify_overdue INTEGER NOT NULL DEFAULT 1;
-- subscribers: told what the public is told; team: told of drafts and
-- overdue incidents, never of public events.
ALTER TABLE webhooks ADD COLUMN audience TEXT NOT NULL DEFAULT 'subscribers';
