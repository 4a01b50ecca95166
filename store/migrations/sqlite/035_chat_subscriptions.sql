-- Self-serve chat subscriptions: a visitor pastes a chat tool's incoming
-- webhook URL on the subscribe page. Each is a webhooks row of origin
-- 'visitor' (the operator's own are 'operator'), so that it rides the same
-- expansion, delivery, retries and SSRF guard. Its status runs pending →
-- active → retired or unsubscribed; token_nonce signs its confirmation and
-- unsubscribe links (as subscribers' do); gone_count counts 404/410 answers
-- in a row, two of which retire it; last_posted_at keeps a second sign-up
-- for the same URL from posting again within an interval.
ALTER TABLE webhooks ADD COLUMN origin TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE webhooks ADD COLUMN page_id TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN token_nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN gone_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN last_posted_at DATETIME;
ALTER TABLE webhooks ADD COLUMN confirmed_at DATETIME;
-- One visitor subscription per page and URL, whatever its status.
CREATE UNIQUE INDEX webhooks_visitor_url ON webhooks (page_id, url) WHERE origin = 'visitor';
