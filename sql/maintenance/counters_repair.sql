-- purpose: Recompute every counter from the rows it counts; list and repair any drift.
-- read-only: no
-- live: yes
-- transaction: yes
--
-- The counters (sql/migrations/0016_counters.sql, 0022_counter_slots.sql,
-- 0024_tag_count_slots.sql): all blogs (blog_count_slots, summed), each user's blogs and
-- favorites (user_blog_counts, user_favorite_counts, summed over the user's slots), each tag's
-- blogs (tags.blog_count plus the tag's tag_blog_counts, which are folded into it) and each
-- blog's favorites (blogs.favorites_count). Triggers keep them in every writing
-- transaction, so drift means rows written with the triggers disabled, or a counter edited by
-- hand. Each statement lists what was wrong (stored, then counted) and sets it right; --dry-run
-- only lists it.
-- Writes to blogs, blog_tags and favorites wait while this runs (about a second per million
-- blogs), so the counts and the rows agree when it commits; reads go on.

-- Hold writes to the counted tables until the repair commits
LOCK TABLE blogs, blog_tags, favorites IN SHARE MODE;

-- All blogs
WITH stored AS (
    SELECT sum(blog_count)::bigint AS n FROM blog_count_slots
), counted AS (
    SELECT count(*) AS n FROM blogs
), drift AS (
    SELECT stored.n AS stored, counted.n AS counted
    FROM stored, counted
    WHERE stored.n IS DISTINCT FROM counted.n
), repaired AS (
    UPDATE blog_count_slots
    SET blog_count = CASE WHEN slot = 0 THEN (SELECT counted FROM drift) ELSE 0 END
    WHERE EXISTS (SELECT FROM drift)
)
SELECT 'blogs' AS counter, NULL::bigint AS id, drift.stored, drift.counted FROM drift;

-- Each user's blogs
WITH counted AS (
    SELECT user_id, count(*) AS n FROM blogs GROUP BY user_id
), stored AS (
    SELECT user_id, sum(blog_count)::bigint AS n FROM user_blog_counts GROUP BY user_id
), drift AS (
    SELECT coalesce(c.user_id, s.user_id) AS user_id,
           coalesce(s.n, 0) AS stored,
           coalesce(c.n, 0) AS counted
    FROM counted AS c
    FULL JOIN stored AS s ON s.user_id = c.user_id
    WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)
), folded AS (
    -- The user's count moves to slot 0 and the other slots go.
    DELETE FROM user_blog_counts AS s USING drift WHERE s.user_id = drift.user_id AND s.slot <> 0
), repaired AS (
    INSERT INTO user_blog_counts (user_id, slot, blog_count)
    SELECT user_id, 0, counted FROM drift
    ON CONFLICT (user_id, slot) DO UPDATE SET blog_count = excluded.blog_count
)
SELECT 'user blogs' AS counter, user_id AS id, stored, counted FROM drift ORDER BY user_id;

-- Each user's favorites
WITH counted AS (
    SELECT user_id, count(*) AS n FROM favorites GROUP BY user_id
), stored AS (
    SELECT user_id, sum(favorite_count)::bigint AS n FROM user_favorite_counts GROUP BY user_id
), drift AS (
    SELECT coalesce(c.user_id, s.user_id) AS user_id,
           coalesce(s.n, 0) AS stored,
           coalesce(c.n, 0) AS counted
    FROM counted AS c
    FULL JOIN stored AS s ON s.user_id = c.user_id
    WHERE coalesce(s.n, 0) <> coalesce(c.n, 0)
), folded AS (
    -- The user's count moves to slot 0 and the other slots go.
    DELETE FROM user_favorite_counts AS s USING drift WHERE s.user_id = drift.user_id AND s.slot <> 0
), repaired AS (
    INSERT INTO user_favorite_counts (user_id, slot, favorite_count)
    SELECT user_id, 0, counted FROM drift
    ON CONFLICT (user_id, slot) DO UPDATE SET favorite_count = excluded.favorite_count
)
SELECT 'user favorites' AS counter, user_id AS id, stored, counted FROM drift ORDER BY user_id;

-- Each tag's blogs
WITH counted AS (
    SELECT t.id,
           t.blog_count
           + coalesce((SELECT sum(s.blog_count) FROM tag_blog_counts AS s WHERE s.tag_id = t.id), 0)
           AS stored,
           (SELECT count(*) FROM blog_tags AS bt WHERE bt.tag_id = t.id) AS counted
    FROM tags AS t
), drift AS (
    SELECT * FROM counted WHERE stored <> counted
), folded AS (
    -- Every tag's slot rows go into its row, drifted or not: the most used tags are then read
    -- from the index alone (tags_top.sql).
    DELETE FROM tag_blog_counts AS s
    USING tags AS t
    WHERE t.id = s.tag_id
    RETURNING s.tag_id, s.blog_count
), repaired AS (
    UPDATE tags AS t
    SET blog_count = coalesce(
        (SELECT drift.counted FROM drift WHERE drift.id = t.id),
        t.blog_count + (SELECT sum(f.blog_count) FROM folded AS f WHERE f.tag_id = t.id)
    )
    WHERE t.id IN (SELECT id FROM drift UNION SELECT tag_id FROM folded)
)
SELECT 'tag blogs' AS counter, id, stored, counted FROM drift ORDER BY id;

-- Each blog's favorites
WITH counted AS (
    SELECT blog_id, count(*) AS n FROM favorites GROUP BY blog_id
), drift AS (
    SELECT b.id, b.favorites_count AS stored, coalesce(c.n, 0) AS counted
    FROM blogs AS b
    LEFT JOIN counted AS c ON c.blog_id = b.id
    WHERE b.favorites_count <> coalesce(c.n, 0)
), repaired AS (
    UPDATE blogs AS b SET favorites_count = drift.counted FROM drift WHERE b.id = drift.id
)
SELECT 'blog favorites' AS counter, id, stored, counted FROM drift ORDER BY id;
