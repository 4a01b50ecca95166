-- Who may see a page: 'public' (anyone), 'signed_in' (console users) or
-- 'ip' (clients whose address is in ip_ranges). ip_ranges is the CIDRs,
-- space-separated; kept when access is not 'ip', so that switching back
-- does not lose them.
ALTER TABLE pages ADD COLUMN access TEXT NOT NULL DEFAULT 'public';
ALTER TABLE pages ADD COLUMN ip_ranges TEXT NOT NULL DEFAULT '';
