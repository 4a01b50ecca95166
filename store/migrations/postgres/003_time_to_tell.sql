-- The time-to-tell clock; see the SQLite migration 008.
ALTER TABLE incidents ADD COLUMN started_at timestamptz;
ALTER TABLE incidents ADD COLUMN first_signal_at timestamptz;
ALTER TABLE incidents ADD COLUMN draft_created_at timestamptz;
ALTER TABLE incidents ADD COLUMN first_delivery_at timestamptz;
ALTER TABLE incidents ADD COLUMN last_delivery_at timestamptz;
ALTER TABLE incidents ADD COLUMN next_update_at timestamptz;
-- Seconds from impact to the first public post and to the first delivery,
-- kept as numbers so that /metrics and the report aggregate in SQL alike
-- on both backends.
ALTER TABLE incidents ADD COLUMN time_to_public_s bigint;
ALTER TABLE incidents ADD COLUMN time_to_delivery_s bigint;
-- The team was told of a missed promise or a stale incident (once each).
ALTER TABLE incidents ADD COLUMN overdue_notified_at timestamptz;

ALTER TABLE incident_drafts ADD COLUMN started_at timestamptz;
ALTER TABLE incident_drafts ADD COLUMN held_at timestamptz;
ALTER TABLE incident_drafts ADD COLUMN held_by text NOT NULL DEFAULT '';
ALTER TABLE incident_drafts ADD COLUMN hold_reason text NOT NULL DEFAULT '';
ALTER TABLE incident_drafts ADD COLUMN reminded_at timestamptz;

ALTER TABLE alert_states ADD COLUMN title text NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN summary text NOT NULL DEFAULT '';
ALTER TABLE alert_states ADD COLUMN labels text NOT NULL DEFAULT '{}';
ALTER TABLE alert_states ADD COLUMN starts_at timestamptz;
ALTER TABLE incident_updates ADD COLUMN deliver_notifications boolean NOT NULL DEFAULT true;
