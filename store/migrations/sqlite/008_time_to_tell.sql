-- The time-to-tell clock and what feeds it: when an incident's impact began
-- (started_at, NULL meaning at created_at), its first signal and draft, its
-- first and last delivery, the next update it promised; what Herald keeps
-- of each alert; a draft's hold and reminder.
ALTER TABLE incidents ADD COLUMN started_at DATETIME;
ALTER TABLE incidents ADD COLUMN first_signal_at DATETIME;
ALTER TABLE incidents ADD COLUMN draft_created_at DATETIME;
ALTER TABLE incidents ADD COLUMN first_delivery_at DATETIME;
ALTER TABLE incidents ADD COLUMN last_delivery_at DATETIME;
ALTER TABLE incidents ADD COLUMN next_update_at DATETIME;
-- Seconds from impact to the first public post and to the first delivery,
-- kept as numbers so that /metrics and the report aggregate in SQL alike
-- on both backends.
ALTER TABLE incidents ADD COLUMN time_to_public_s INTEGER;
ALTER TABLE incidents ADD COLUMN time_to_delivery_s INTEGER;
-- The team was told of a missed promise or a stale incident (once each).
ALTER TABLE incidents ADD COLUMN overdue_notified_at DATETIME;

ALTER TABLE incident_drafts ADD COLUMN started_at DATETIME;
ALTER TABLE incident_drafts ADD COLUMN held_at DATETIME;
ALTER TABLE incident_drafts ADD COLUMN held_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_drafts ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE incident_drafts ADD COLUMN reminded_at DATETIME;

ALTER TABLE alert_states ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alert_states ADD COLUMN starts_at DATETIME;
ALTER TABLE incident_updates ADD COLUMN deliver_notifications INTEGER NOT NULL DEFAULT 1; -- were subscribers told of it
