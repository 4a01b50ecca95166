-- See the SQLite migration 035_chat_subscriptions.sql.
ALTER TABLE webhooks ADD COLUMN origin text NOT NULL DEFAULT 'operator';
ALTER TABLE webhooks ADD COLUMN page_id text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN token_nonce text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN gone_count integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN last_posted_at timestamptz;
ALTER TABLE webhooks ADD COLUMN confirmed_at timestamptz;
CREATE UNIQUE INDEX webhooks_visitor_url ON webhooks (page_id, url) WHERE origin = 'visitor';
