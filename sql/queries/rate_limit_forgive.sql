-- Take back one counted attempt under each of `keys` (a login that turned out right), and
-- forget `cleared` altogether.
-- read-only: no
WITH cleared AS (
    DELETE FROM rate_limits WHERE key = ANY (:cleared::text[])
)
UPDATE rate_limits
SET hits = hits - 1
WHERE key = ANY (:keys::text[]) AND hits > 0
