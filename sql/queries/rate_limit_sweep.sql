-- Delete up to `batch` windows that ended at least a minute ago (ix_rate_limits_window_ends).
-- read-only: no
DELETE FROM rate_limits
WHERE key IN (
    SELECT key FROM rate_limits
    WHERE window_ends < clock_timestamp() - interval '1 minute'
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
