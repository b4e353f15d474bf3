-- Count one attempt under each key, atomically, and return each key's count in its current
-- fixed window and the seconds until that window ends. A window that has ended starts again.
-- Keys are upserted in key order, so concurrent calls lock rows in one order and never deadlock.
-- clock_timestamp(), not now(): windows move even inside one long transaction.
-- read-only: no
INSERT INTO rate_limits AS r (key, hits, window_ends)
SELECT k.key, 1, clock_timestamp() + make_interval(secs => k.seconds)
FROM unnest(:keys::text[], :window_seconds::float8[]) AS k (key, seconds)
ORDER BY k.key
ON CONFLICT (key) DO UPDATE
SET hits        = CASE WHEN r.window_ends <= clock_timestamp() THEN 1 ELSE r.hits + 1 END,
    window_ends = CASE WHEN r.window_ends <= clock_timestamp()
                       THEN excluded.window_ends ELSE r.window_ends END
RETURNING r.key,
          r.hits,
          extract(epoch FROM r.window_ends - clock_timestamp())::float8 AS seconds_left
