-- purpose: Estimated bloat (space beyond what the live rows need) of our tables and btree indexes.
-- read-only: yes
-- live: yes
-- transaction: yes
--
-- An estimate from the planner's statistics, as of the last VACUUM or ANALYZE: the pages the
-- estimated rows would fill at the table's (or index's) fillfactor, against the pages it has.
-- Run ANALYZE first for a fresh figure; a table never analyzed shows no estimate. TOAST is not
-- counted, alignment is approximated, and btree deduplication can make an index smaller than
-- the estimate (shown as no bloat). Bloat of a table is reused after VACUUM; giving it back to
-- the operating system takes VACUUM FULL or pg_repack. An index is compacted by reindex.sql.

-- Tables
WITH t AS (
    SELECT c.oid,
           c.relname,
           n.nspname,
           c.relpages,
           c.reltuples,
           current_setting('block_size')::numeric AS block_size,
           coalesce((SELECT split_part(o, '=', 2)::numeric
                     FROM unnest(c.reloptions) AS o
                     WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
), widths AS (
    SELECT t.oid,
           count(*) AS columns,
           count(s.attname) AS columns_with_stats,
           sum((1 - s.null_frac) * s.avg_width)::numeric AS data_width,
           bool_or(s.null_frac > 0) AS has_nulls
    FROM t
    JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats AS s
      ON s.schemaname = t.nspname AND s.tablename = t.relname AND s.attname = a.attname
     AND NOT s.inherited
    GROUP BY t.oid
), estimate AS (
    SELECT t.*,
           w.columns_with_stats = w.columns AS has_stats,
           -- Heap tuple: 23-byte header plus null bitmap, then data, each 8-byte aligned; plus
           -- its 4-byte line pointer. A page has a 24-byte header.
           ceil(t.reltuples::numeric * (
               ceil((23 + CASE WHEN w.has_nulls THEN ceil(w.columns / 8.0) ELSE 0 END) / 8) * 8
               + ceil(w.data_width / 8) * 8
               + 4
           ) / ((t.block_size - 24) * t.fillfactor / 100)) AS expected_pages
    FROM t
    JOIN widths AS w ON w.oid = t.oid
)
SELECT relname AS table,
       pg_size_pretty(relpages * block_size) AS size,
       CASE WHEN has_stats AND reltuples >= 0 THEN reltuples::bigint END AS row_estimate,
       CASE WHEN has_stats AND reltuples >= 0
            THEN pg_size_pretty(greatest(relpages - expected_pages, 0) * block_size) END
           AS estimated_bloat,
       CASE WHEN has_stats AND reltuples >= 0
            THEN round(100 * greatest(relpages - expected_pages, 0) / nullif(relpages, 0), 1)
       END AS bloat_pct,
       CASE WHEN NOT has_stats OR reltuples < 0 THEN 'no statistics: run ANALYZE' END AS note
FROM estimate
ORDER BY greatest(relpages - coalesce(expected_pages, 0), 0) * block_size DESC, relname;

-- Btree indexes
WITH i AS (
    SELECT x.indexrelid AS oid,
           x.indrelid AS table_oid,
           x.indkey,
           c.relname,
           t.relname AS table_name,
           n.nspname,
           c.relpages,
           c.reltuples,
           current_setting('block_size')::numeric AS block_size,
           coalesce((SELECT split_part(o, '=', 2)::numeric
                     FROM unnest(c.reloptions) AS o
                     WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor
    FROM pg_index AS x
    JOIN pg_class AS c ON c.oid = x.indexrelid
    JOIN pg_class AS t ON t.oid = x.indrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE x.indrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest(:'our_tables'::text[]) AS t)
      AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
), widths AS (
    -- A plain column's statistics are the table's; an expression's are kept under the index.
    SELECT i.oid,
           count(*) AS columns,
           count(s.attname) AS columns_with_stats,
           sum((1 - s.null_frac) * s.avg_width)::numeric AS data_width,
           bool_or(s.null_frac > 0) AS has_nulls
    FROM i
    JOIN pg_attribute AS ia ON ia.attrelid = i.oid AND ia.attnum > 0
    LEFT JOIN pg_attribute AS ta
      ON ta.attrelid = i.table_oid AND ta.attnum = i.indkey[ia.attnum - 1] AND ta.attnum <> 0
    LEFT JOIN pg_stats AS s
      ON s.schemaname = i.nspname AND NOT s.inherited
     AND (ta.attname IS NOT NULL AND s.tablename = i.table_name AND s.attname = ta.attname
          OR ta.attname IS NULL AND s.tablename = i.relname AND s.attname = ia.attname)
    GROUP BY i.oid
), leaves AS (
    SELECT i.*,
           w.columns_with_stats = w.columns AS has_stats,
           -- Index tuple: 8-byte header plus null bitmap, then data, 8-byte aligned; plus its
           -- line pointer. A page has a 24-byte header and 16 bytes of btree data.
           8 + CASE WHEN w.has_nulls THEN 8 ELSE 0 END + ceil(w.data_width / 8) * 8 + 4
               AS tuple_width,
           (i.block_size - 24 - 16) * i.fillfactor / 100 AS usable
    FROM i
    JOIN widths AS w ON w.oid = i.oid
), estimate AS (
    -- The leaves, one level of pages above them when there is more than one, and the metapage.
    SELECT l.*,
           1 + leaf_pages
           + CASE WHEN leaf_pages > 1 THEN ceil(leaf_pages * l.tuple_width / l.usable) ELSE 0 END
               AS expected_pages
    FROM leaves AS l
    CROSS JOIN LATERAL (
        SELECT greatest(ceil(l.reltuples::numeric * l.tuple_width / l.usable), 1) AS leaf_pages
    ) AS leaf
)
SELECT relname AS index,
       table_name AS table,
       pg_size_pretty(relpages * block_size) AS size,
       CASE WHEN has_stats AND reltuples >= 0
            THEN pg_size_pretty(greatest(relpages - expected_pages, 0) * block_size) END
           AS estimated_bloat,
       CASE WHEN has_stats AND reltuples >= 0
            THEN round(100 * greatest(relpages - expected_pages, 0) / nullif(relpages, 0), 1)
       END AS bloat_pct,
       CASE WHEN NOT has_stats OR reltuples < 0 THEN 'no statistics: run ANALYZE' END AS note
FROM estimate
ORDER BY greatest(relpages - coalesce(expected_pages, 0), 0) * block_size DESC, relname;
