-- purpose: Unused, duplicate and redundant indexes, and index scans vs sequential scans per table.
-- read-only: yes
-- live: yes
-- transaction: yes
--
-- Scan counters are cumulative since the statistics were last reset
-- (pg_stat_database.stats_reset) and count this server only: an index unused here may serve a
-- replica's queries. Indexes that enforce a constraint are listed but never worth dropping.

-- Unused indexes: never scanned
SELECT s.indexrelname AS index,
       s.relname AS table,
       pg_size_pretty(pg_relation_size(s.indexrelid)) AS size,
       s.idx_scan AS scans,
       CASE
           WHEN x.indisprimary THEN 'keep: primary key'
           WHEN x.indisunique THEN 'keep: enforces uniqueness'
           WHEN EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = x.indexrelid)
               THEN 'keep: backs a constraint'
           WHEN EXISTS (
               SELECT FROM pg_constraint AS k
               WHERE k.contype = 'f' AND k.conrelid = x.indrelid AND k.conkey[1] = x.indkey[0]
           ) THEN 'check first: leads with a foreign key column (ON DELETE lookups)'
           ELSE 'candidate to drop'
       END AS advice,
       pg_get_indexdef(s.indexrelid) AS definition
FROM pg_stat_user_indexes AS s
JOIN pg_index AS x ON x.indexrelid = s.indexrelid
WHERE s.relid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
  AND s.idx_scan = 0
ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname;

-- Duplicate and redundant indexes: another index has the same or more leading columns
WITH idx AS (
    SELECT x.indexrelid AS oid,
           x.indrelid AS table_oid,
           c.relam AS am,
           x.indisunique AS is_unique,
           EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = x.indexrelid)
               AS backs_constraint,
           -- Vectors as text with a trailing space, so "b LIKE a || '%'" means "a is a prefix".
           x.indkey::text || ' ' AS keys,
           x.indclass::text || ' ' AS classes,
           x.indcollation::text || ' ' AS collations,
           x.indoption::text || ' ' AS options,
           pg_get_expr(x.indexprs, x.indrelid) AS exprs,
           pg_get_expr(x.indpred, x.indrelid) AS predicate
    FROM pg_index AS x
    JOIN pg_class AS c ON c.oid = x.indexrelid
    WHERE x.indrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
      AND x.indisvalid
)
SELECT a.oid::regclass::text AS index,
       b.oid::regclass::text AS covered_by,
       a.table_oid::regclass::text AS table,
       CASE WHEN a.keys = b.keys THEN 'duplicate' ELSE 'prefix of covered_by' END AS kind,
       pg_size_pretty(pg_relation_size(a.oid)) AS size,
       pg_get_indexdef(a.oid) AS definition,
       pg_get_indexdef(b.oid) AS covered_by_definition
FROM idx AS a
JOIN idx AS b
  ON b.table_oid = a.table_oid
 AND b.oid <> a.oid
 AND b.am = a.am
 AND b.keys LIKE a.keys || '%'
 AND b.classes LIKE a.classes || '%'
 AND b.collations LIKE a.collations || '%'
 AND b.options LIKE a.options || '%'
 AND b.predicate IS NOT DISTINCT FROM a.predicate
WHERE NOT a.backs_constraint
  AND CASE
          WHEN a.keys = b.keys THEN
              a.exprs IS NOT DISTINCT FROM b.exprs
              AND (a.is_unique < b.is_unique
                   OR a.is_unique = b.is_unique AND (b.backs_constraint OR a.oid > b.oid))
          ELSE
              -- A shorter unique index enforces something the longer one does not.
              NOT a.is_unique
              AND a.exprs IS NULL
              AND a.am = (SELECT oid FROM pg_am WHERE amname = 'btree')
      END
ORDER BY 3, 1, 2;

-- Index scans vs sequential scans per table
SELECT s.relname AS table,
       s.seq_scan,
       s.seq_tup_read AS seq_rows_read,
       coalesce(s.idx_scan, 0) AS idx_scan,
       coalesce(s.idx_tup_fetch, 0) AS idx_rows_fetched,
       round(100.0 * coalesce(s.idx_scan, 0) / nullif(s.seq_scan + coalesce(s.idx_scan, 0), 0), 1)
           AS idx_scan_pct,
       s.n_live_tup AS live_rows
FROM pg_stat_user_tables AS s
WHERE s.relid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
ORDER BY s.seq_tup_read DESC, s.relname;
