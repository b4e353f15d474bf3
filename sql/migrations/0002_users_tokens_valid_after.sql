-- Access tokens issued before this moment are refused. A password change sets it (from the
-- application's clock, the one that stamps tokens), so tokens die with the old password.
-- NULL: no token has been revoked.
ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
