-- purpose: The statements that took the most time in this database, from pg_stat_statements.
-- read-only: yes
-- live: yes
-- transaction: yes
-- requires: pg_stat_statements
-- param: limit = 20  -- how many statements to show
-- param: min_calls = 1  -- leave out statements called fewer times than this
--
-- Needs the extension loaded at server start (shared_preload_libraries = 'pg_stat_statements')
-- and created in this database (CREATE EXTENSION pg_stat_statements); without it the runner
-- returns one row saying so. Times are since pg_stat_statements_reset(). Query text is
-- normalised: constants show as $1, $2, ...

-- Slowest statements by total execution time
SELECT round(s.total_exec_time::numeric, 1) AS total_ms,
       round((100 * s.total_exec_time / nullif(sum(s.total_exec_time) OVER (), 0))::numeric, 1)
           AS pct_of_total,
       s.calls,
       round(s.mean_exec_time::numeric, 2) AS mean_ms,
       round(s.max_exec_time::numeric, 2) AS max_ms,
       s.rows,
       round(100.0 * s.shared_blks_hit / nullif(s.shared_blks_hit + s.shared_blks_read, 0), 1)
           AS cache_hit_pct,
       regexp_replace(s.query, '\s+', ' ', 'g') AS query
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.calls >= :'min_calls'::bigint
ORDER BY s.total_exec_time DESC
LIMIT :'limit'::bigint;
