-- A tag's count spread like the users' (0022), so writers of blogs with the same tags stop
-- queueing on the tag's row.
--
-- Every blog deleted with a popular tag changed that tag's one row (tags.blog_count), which
-- stayed locked until the deletion's commit reached the disk: deletions of blogs sharing a tag
-- went one at a time, each waiting for the flush of the one before.
--
-- A tag's count is now tags.blog_count plus the rows of tag_blog_counts for that tag
-- (slots 1-15), summed on read. A statement that counts for up to 16 tags (a blog written,
-- edited or deleted), for each tag:
--   - takes the tag's row if no other transaction holds it (SKIP LOCKED, in name order) and adds
--     to tags.blog_count, folding into it the tag's slot rows that no writer holds now, so a
--     tag's slot rows stay as few as its writers that overlapped;
--   - otherwise adds to the lowest of its slot rows no other transaction holds (user_counter_slot
--     with counter 3, the same advisory locks as the users' counters), and never waits unless
--     all 15 are held (then it adds to one anyway and waits for that row, in tag id order).
-- A larger statement (a user's blogs deleted by cascade, a bulk load) waits for each tag's row, in
-- name order (0018), and adds to tags.blog_count. A fold never waits; small statements wait only
-- for a full tag's slot row, in tag id order, held by writers that never wait for a tag's row.
--
-- The most used tags (tags_top.sql) are the first of ix_tags_blog_count_name among the tags with
-- no slot rows, merged with the tags that have some: those whose writers overlapped within about
-- the last second (tag_counts_fold, called by every worker, folds the others; so does the
-- maintenance script counters_repair.sql).
--
-- tags.blog_count alone may now go below zero (a blog counted in a slot, uncounted in the row):
-- its check goes; the sum cannot, and the counter tests compare it with the rows.

-- squawk-ignore ban-drop-constraint
ALTER TABLE tags DROP CONSTRAINT ck_tags_blog_count_positive;

CREATE TABLE tag_blog_counts (
    tag_id bigint NOT NULL,
    slot bigint NOT NULL,
    blog_count bigint NOT NULL DEFAULT 0,
    CONSTRAINT pk_tag_blog_counts PRIMARY KEY (tag_id, slot),
    CONSTRAINT fk_tag_blog_counts_tag_id_tags FOREIGN KEY (tag_id)
        REFERENCES tags (id) ON DELETE CASCADE,
    CONSTRAINT ck_tag_blog_counts_slot_range CHECK (slot BETWEEN 1 AND 15)
);

-- Rows come and go with every overlap: vacuum them as soon as a few hundred are dead.
ALTER TABLE tag_blog_counts SET (
    autovacuum_vacuum_threshold = 200,
    autovacuum_vacuum_scale_factor = 0
);

-- The advisory lock that says a transaction adds to slot `slot` of the counter `counter` (1: a
-- user's blogs, 2: a user's favorites, 3: a tag's blogs) of row `id`, taken if no other
-- transaction holds it. Two ids 2^27 apart share lock keys: one of them may skip a free slot.
CREATE FUNCTION counter_slot_lock(counter integer, id bigint, slot bigint) RETURNS boolean
LANGUAGE sql VOLATILE AS $$
    SELECT pg_try_advisory_xact_lock(counter, ((id * 16 + slot) % 2147483648)::integer)
$$;

CREATE OR REPLACE FUNCTION user_counter_slot(counter integer, user_id bigint, users bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF users > 16 THEN
        RETURN 0;
    END IF;
    FOR slot IN 1..15 LOOP
        IF counter_slot_lock(counter, user_id, slot) THEN
            RETURN slot;
        END IF;
    END LOOP;
    RETURN 1 + txid_current() % 15;
END
$$;

-- Add deltas[i] blogs to the count of tag tag_ids[i] (each tag once). Simple statements, each
-- run only when needed: the common case (no other writer on these tags, no slot rows) is one
-- UPDATE and one primary-key probe, close to 0018's cost.
CREATE FUNCTION tag_counts_add(tag_ids bigint[], deltas bigint[]) RETURNS void
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

    -- The slot rows of the tags taken here that no writer holds now go into the tags' rows.
    IF EXISTS (SELECT FROM tag_blog_counts AS s WHERE s.tag_id = ANY (owned)) THEN
        PERFORM tag_counts_fold_slots(owned);
    END IF;
END
$$;

-- Fold into the rows of `tag_ids`, which this transaction holds, their slot rows that no writer
-- holds: neither the slot's advisory lock (a writer that picked it) nor the row itself (a writer
-- that found all 15 slots taken and added to one anyway). It never waits.
CREATE FUNCTION tag_counts_fold_slots(tag_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH parked AS MATERIALIZED (
        SELECT s.tag_id, s.slot FROM tag_blog_counts AS s WHERE s.tag_id = ANY (tag_ids)
    ), free AS MATERIALIZED (
        SELECT p.tag_id, p.slot FROM parked AS p WHERE counter_slot_lock(3, p.tag_id, p.slot)
    ), unheld AS MATERIALIZED (
        SELECT s.tag_id, s.slot
        FROM tag_blog_counts AS s
        JOIN free AS f ON f.tag_id = s.tag_id AND f.slot = s.slot
        FOR UPDATE OF s SKIP LOCKED
    ), folded AS (
        DELETE FROM tag_blog_counts AS s
        USING unheld AS u
        WHERE s.tag_id = u.tag_id AND s.slot = u.slot
        RETURNING s.tag_id, s.blog_count
    )
    UPDATE tags AS t
    SET blog_count = t.blog_count + f.n
    FROM (SELECT tag_id, sum(blog_count) AS n FROM folded GROUP BY tag_id) AS f
    WHERE t.id = f.tag_id;
END
$$;

-- The slot rows a tag keeps when no writer takes its row afterwards (the last writers of a tag
-- overlapped): folded by each worker of the service about once a second (service.db.
-- invalidations), up to `batch` tags a call, so the most used tags stay an index walk plus a
-- few tags. Returns how many tags it folded; it never waits.
CREATE FUNCTION tag_counts_fold(batch integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    owned bigint[];
BEGIN
    SELECT array_agg(t.id) INTO owned
    FROM (
        SELECT t.id FROM tags AS t
        WHERE t.id IN (SELECT DISTINCT s.tag_id FROM tag_blog_counts AS s)
        LIMIT batch
        FOR NO KEY UPDATE SKIP LOCKED
    ) AS t;
    IF owned IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM tag_counts_fold_slots(owned);
    RETURN cardinality(owned);
END
$$;

CREATE OR REPLACE FUNCTION blog_tags_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tag_counts_add(array_agg(c.tag_id), array_agg(c.n))
    FROM (SELECT tag_id, count(*) AS n FROM new_links GROUP BY tag_id) AS c
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION blog_tags_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tag_counts_add(array_agg(c.tag_id), array_agg(-c.n))
    FROM (SELECT tag_id, count(*) AS n FROM old_links GROUP BY tag_id) AS c
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

-- Written by a statement of its own (an operator's repair): the lists' counts changed.
CREATE TRIGGER tg_tag_blog_counts_read_cache_insert AFTER INSERT ON tag_blog_counts
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_tag_blog_counts_read_cache_update AFTER UPDATE ON tag_blog_counts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_tag_blog_counts_read_cache_delete AFTER DELETE ON tag_blog_counts
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_tag_blog_counts_read_cache_truncate AFTER TRUNCATE ON tag_blog_counts
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();
ALTER TABLE tag_blog_counts ENABLE ALWAYS TRIGGER tg_tag_blog_counts_read_cache_insert;
ALTER TABLE tag_blog_counts ENABLE ALWAYS TRIGGER tg_tag_blog_counts_read_cache_update;
ALTER TABLE tag_blog_counts ENABLE ALWAYS TRIGGER tg_tag_blog_counts_read_cache_delete;
ALTER TABLE tag_blog_counts ENABLE ALWAYS TRIGGER tg_tag_blog_counts_read_cache_truncate;
