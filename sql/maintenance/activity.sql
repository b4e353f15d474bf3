-- purpose: Running and waiting queries in this database, and who blocks whom.
-- read-only: yes
-- live: yes
-- transaction: yes
--
-- Idle sessions are left out; "idle in transaction" ones are not: they hold their locks.
-- To end a blocker: SELECT pg_cancel_backend(pid) stops its query, pg_terminate_backend(pid)
-- its session (and rolls its transaction back).

-- Sessions that are not idle, longest running first
SELECT a.pid,
       a.usename AS user,
       a.application_name AS application,
       a.state,
       a.wait_event_type || ': ' || a.wait_event AS waiting_on,
       date_trunc('second', now() - a.xact_start) AS in_transaction_for,
       date_trunc('second', now() - a.query_start) AS query_running_for,
       pg_blocking_pids(a.pid) AS blocked_by,
       regexp_replace(a.query, '\s+', ' ', 'g') AS query
FROM pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
  AND a.state IS DISTINCT FROM 'idle'
ORDER BY a.query_start NULLS LAST, a.pid;

-- Who blocks whom: each waiting session with each session it waits for
SELECT w.pid AS blocked_pid,
       date_trunc('second', now() - w.query_start) AS waiting_for,
       regexp_replace(w.query, '\s+', ' ', 'g') AS blocked_query,
       b.pid AS blocking_pid,
       b.state AS blocking_state,
       date_trunc('second', now() - b.xact_start) AS blocking_transaction_age,
       regexp_replace(b.query, '\s+', ' ', 'g') AS blocking_last_query
FROM pg_stat_activity AS w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid)
LEFT JOIN pg_stat_activity AS b ON b.pid = blocker.pid
WHERE w.datname = current_database()
ORDER BY w.query_start, w.pid, b.pid;
