-- Writers stop folding a tag's slot rows (0024): only tag_counts_fold does, which every worker of
-- the service calls about once a second, and the maintenance script counters_repair.sql.
--
-- With 0024, a writer that took a tag's row also looked for the tag's slot rows and folded the
-- free ones into the row: one more probe for every statement, and for a tag that many writers
-- share, a slot row inserted and deleted for almost every write (its dead versions walked by
-- the next probes). Deletions of blogs with the same two tags, ten connections at once
-- (pgbench, 2 cores): 1,340-1,460 a second with the fold, 1,590-1,620 without it, 1,730-1,780
-- with no tag counting at all. A slot row now stays until the next fold and is updated in place
-- meanwhile. Counts are the same: a tag's count is its row plus its slot rows, summed on read.
CREATE OR REPLACE FUNCTION tag_counts_add(tag_ids bigint[], deltas bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    owned bigint[];
BEGIN
    IF cardinality(tag_ids) > 16 THEN
        WITH changed AS (
            SELECT c.id, c.n FROM unnest(tag_ids, deltas) AS c(id, n)
        ), locked AS (
            SELECT t.id FROM tags AS t
            WHERE t.id IN (SELECT id FROM changed)
            ORDER BY t.name COLLATE "C"
            FOR NO KEY UPDATE
        )
        UPDATE tags AS t
        SET blog_count = t.blog_count + changed.n
        FROM changed JOIN locked USING (id)
        WHERE t.id = changed.id;
        RETURN;
    END IF;

    -- The tags whose row no other transaction holds.
    WITH changed AS (
        SELECT c.id, c.n FROM unnest(tag_ids, deltas) AS c(id, n)
    ), locked AS (
        SELECT t.id FROM tags AS t
        WHERE t.id IN (SELECT id FROM changed)
        ORDER BY t.name COLLATE "C"
        FOR NO KEY UPDATE SKIP LOCKED
    ), counted AS (
        UPDATE tags AS t
        SET blog_count = t.blog_count + changed.n
        FROM changed JOIN locked USING (id)
        WHERE t.id = changed.id
        RETURNING t.id
    )
    SELECT array_agg(id) INTO owned FROM counted;

    -- The others: a slot each. A tag this statement deletes is gone with its count (the cascade
    -- of an operator's DELETE FROM tags).
    IF cardinality(owned) IS DISTINCT FROM cardinality(tag_ids) THEN
        INSERT INTO tag_blog_counts AS s (tag_id, slot, blog_count)
        SELECT c.id, user_counter_slot(3, c.id, 1), c.n
        FROM unnest(tag_ids, deltas) AS c(id, n)
        WHERE c.id <> ALL (coalesce(owned, '{}'))
          AND EXISTS (SELECT FROM tags AS t WHERE t.id = c.id)
        ORDER BY c.id
        ON CONFLICT (tag_id, slot) DO UPDATE SET blog_count = s.blog_count + excluded.blog_count;
    END IF;
END
$$;
