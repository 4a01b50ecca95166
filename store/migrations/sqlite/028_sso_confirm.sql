-- A single sign-on sent to the provider to confirm it is the person of a
-- session before a sensitive action, rather than to sign in: the user it
-- must come back as. '' for a sign-in.
ALTER TABLE sso_logins ADD COLUMN confirm_user TEXT NOT NULL DEFAULT '';
