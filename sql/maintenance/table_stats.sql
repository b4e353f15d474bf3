-- purpose: Size, row estimate, dead rows and last (auto)vacuum/analyze of our tables; index sizes.
-- read-only: yes
-- live: yes
-- transaction: yes
--
-- Row counts come from the planner (pg_class.reltuples, empty before the first ANALYZE) and the
-- cumulative statistics (live/dead rows), so this costs nothing however big the tables are.
-- Many dead rows and an old last_autovacuum mean autovacuum is not keeping up: see
-- vacuum_analyze.sql.

-- Tables, largest first
SELECT c.relname AS table,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size,
       pg_size_pretty(pg_relation_size(c.oid)) AS table_size,
       pg_size_pretty(pg_indexes_size(c.oid)) AS indexes_size,
       pg_size_pretty(pg_total_relation_size(c.oid) - pg_relation_size(c.oid)
                      - pg_indexes_size(c.oid)) AS toast_size,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate,
       s.n_live_tup AS live_rows,
       s.n_dead_tup AS dead_rows,
       round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 1) AS dead_pct,
       date_trunc('second', s.last_vacuum) AS last_vacuum,
       date_trunc('second', s.last_autovacuum) AS last_autovacuum,
       date_trunc('second', s.last_analyze) AS last_analyze,
       date_trunc('second', s.last_autoanalyze) AS last_autoanalyze
FROM pg_class AS c
JOIN pg_stat_user_tables AS s ON s.relid = c.oid
WHERE c.oid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
ORDER BY pg_total_relation_size(c.oid) DESC, c.relname;

-- Indexes, largest first
SELECT i.relname AS index,
       t.relname AS table,
       pg_size_pretty(pg_relation_size(i.oid)) AS size,
       CASE WHEN i.reltuples >= 0 THEN i.reltuples::bigint END AS entry_estimate,
       s.idx_scan AS scans,
       x.indisvalid AS valid
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_stat_user_indexes AS s ON s.indexrelid = x.indexrelid
WHERE x.indrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
ORDER BY pg_relation_size(i.oid) DESC, i.relname;
