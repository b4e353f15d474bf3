-- Access tokens carry the token_version of their user; a token whose version is not the
-- user's current one is refused. Changing the password bumps it in the same UPDATE, so no token
-- minted before the change (or from a login that read the old hash) survives it, whatever the
-- interleaving. A constant default is stored in the catalog: no table rewrite.
ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 0;

-- tokens_valid_after compared the application's clocks; token_version replaces it. Dropping a
-- column only touches the catalog; the service that still read it is stopped before migrating.
-- squawk-ignore ban-drop-column
ALTER TABLE users DROP COLUMN tokens_valid_after;
