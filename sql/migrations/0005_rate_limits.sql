-- Counters of attempts (sign-ups, failed logins) in fixed windows, shared by every worker and
-- machine. UNLOGGED: no WAL for counters that are rewritten on every attempt; after a crash
-- PostgreSQL empties the table, which only resets the windows. `key` is a hash of what is
-- counted (kind, account, address), so a hostile value never makes a long key.
CREATE UNLOGGED TABLE rate_limits (
    key         text        NOT NULL,
    hits        bigint      NOT NULL,
    window_ends timestamptz NOT NULL,
    CONSTRAINT pk_rate_limits PRIMARY KEY (key)
);

-- Expired windows are deleted a batch at a time by the service itself (no cron).
CREATE INDEX ix_rate_limits_window_ends ON rate_limits (window_ends);
