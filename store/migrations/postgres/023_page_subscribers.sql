-- Subscribers belong to a page, and an address may follow several pages
-- once each; internal components stay off the default page. See the SQLite
-- migration of the same name.
ALTER TABLE subscribers ADD COLUMN page_id text NOT NULL DEFAULT '';
ALTER TABLE subscribers DROP CONSTRAINT subscribers_email_key;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_page_email_key UNIQUE (page_id, email);
ALTER TABLE components ADD COLUMN internal boolean NOT NULL DEFAULT false;
