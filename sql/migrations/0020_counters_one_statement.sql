-- The counter triggers of 0016, each one statement: every statement a trigger runs is its own
-- executor start and snapshot, and the slot was chosen by a SQL function, planned again on
-- every call. The counts and the locks are as 0016 has them; a statement that writes no blog
-- takes no slot.

CREATE OR REPLACE FUNCTION blogs_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH added AS (
        SELECT user_id, count(*) AS n FROM new_blogs GROUP BY user_id
    ), slot AS (
        -- The slot the transaction id picks, or the next one no other transaction holds.
        UPDATE blog_count_slots
        SET blog_count = blog_count + (SELECT sum(n) FROM added)
        WHERE EXISTS (SELECT FROM added) AND slot = coalesce(
            (
                SELECT s.slot FROM blog_count_slots AS s
                ORDER BY s.slot = txid_current() % 8 DESC, s.slot
                LIMIT 1
                FOR NO KEY UPDATE SKIP LOCKED
            ),
            txid_current() % 8
        )
    )
    INSERT INTO user_blog_counts AS c (user_id, blog_count)
    SELECT user_id, n FROM added ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET blog_count = c.blog_count + excluded.blog_count;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION blogs_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        SELECT user_id, count(*) AS n FROM old_blogs GROUP BY user_id
    ), slot AS (
        UPDATE blog_count_slots
        SET blog_count = blog_count - (SELECT sum(n) FROM gone)
        WHERE EXISTS (SELECT FROM gone) AND slot = coalesce(
            (
                SELECT s.slot FROM blog_count_slots AS s
                ORDER BY s.slot = txid_current() % 8 DESC, s.slot
                LIMIT 1
                FOR NO KEY UPDATE SKIP LOCKED
            ),
            txid_current() % 8
        )
    ), locked AS (
        SELECT c.user_id FROM user_blog_counts AS c
        WHERE c.user_id IN (SELECT user_id FROM gone)
        ORDER BY c.user_id
        FOR NO KEY UPDATE
    )
    UPDATE user_blog_counts AS c
    SET blog_count = c.blog_count - gone.n
    FROM gone JOIN locked USING (user_id)
    WHERE c.user_id = gone.user_id;
    RETURN NULL;
END
$$;

-- Only 0016's triggers used it.
-- squawk-ignore ban-drop-function
DROP FUNCTION blog_count_add(bigint);

CREATE OR REPLACE FUNCTION favorites_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH added AS (
        SELECT blog_id AS id, count(*) AS n FROM new_favorites GROUP BY blog_id
    ), locked AS (
        SELECT b.id FROM blogs AS b
        WHERE b.id IN (SELECT id FROM added)
        ORDER BY b.id
        FOR NO KEY UPDATE
    ), per_blog AS (
        UPDATE blogs AS b
        SET favorites_count = b.favorites_count + added.n
        FROM added JOIN locked USING (id)
        WHERE b.id = added.id
    )
    INSERT INTO user_favorite_counts AS c (user_id, favorite_count)
    SELECT user_id, count(*) FROM new_favorites GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET favorite_count = c.favorite_count + excluded.favorite_count;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION favorites_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH removed AS (
        SELECT blog_id AS id, count(*) AS n FROM old_favorites GROUP BY blog_id
    ), locked_blogs AS (
        SELECT b.id FROM blogs AS b
        WHERE b.id IN (SELECT id FROM removed)
        ORDER BY b.id
        FOR NO KEY UPDATE
    ), per_blog AS (
        UPDATE blogs AS b
        SET favorites_count = b.favorites_count - removed.n
        FROM removed JOIN locked_blogs USING (id)
        WHERE b.id = removed.id
    ), per_user AS (
        SELECT user_id, count(*) AS n FROM old_favorites GROUP BY user_id
    ), locked_users AS (
        SELECT c.user_id FROM user_favorite_counts AS c
        WHERE c.user_id IN (SELECT user_id FROM per_user)
        ORDER BY c.user_id
        FOR NO KEY UPDATE
    )
    UPDATE user_favorite_counts AS c
    SET favorite_count = c.favorite_count - per_user.n
    FROM per_user JOIN locked_users USING (user_id)
    WHERE c.user_id = per_user.user_id;
    RETURN NULL;
END
$$;
