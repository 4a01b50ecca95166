-- The languages a page speaks (templates/i18n ships them): language is its
-- default, what a visitor whose browser asks for none of them reads;
-- languages the others it offers, comma-separated. The default page's are
-- on its row too (page_id '').
ALTER TABLE page_branding ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE page_branding ADD COLUMN languages TEXT NOT NULL DEFAULT '';
-- A subscriber's language, chosen on the subscribe form: their emails'.
-- '' is their page's default language, whatever it is when an email goes.
ALTER TABLE subscribers ADD COLUMN language TEXT NOT NULL DEFAULT '';
