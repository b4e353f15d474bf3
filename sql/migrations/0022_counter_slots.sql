-- The counters of 0016 spread wider, so concurrent writers stop queueing on them.
--
-- A counter row stays locked from the write that changes it until its transaction commits, and
-- the commit waits for its flush: every writer that needs the same row waits for the one before
-- it to reach the disk. 32 connections writing blogs queued on the 8 slots of all blogs, and the
-- writers of one user on that user's one row.
--
-- All blogs: 64 slots (the sum is still read from one page).
-- Each user's blogs and favorites: up to 16 rows per user, (user_id, slot), summed on read. A
-- statement that counts for a few users (up to 16: a blog written or deleted, a favorite made or
-- removed, the favorites of a blog a few users like) adds, for each, to the lowest of slots 1-15
-- no other writing transaction holds (user_counter_slot), so a user who writes from one
-- connection keeps one row, and k concurrent writers make about k. A statement that counts for
-- more users (the favorites of a blog liked by thousands, a bulk insert) adds to each one's slot
-- 0, in user order, as before: an advisory lock per user would fill PostgreSQL's lock table for
-- a blog favorited by thousands; slot 0 is kept for those statements alone, so the two ways
-- never meet on a row (user_counter_slot says which). A row may go below zero (a blog counted in one slot and uncounted in
-- another): only the sum means anything. A deletion never makes a row for a user who is gone
-- (the cascade of a deleted user removes that user's rows; the foreign key would refuse a new
-- one).

-- The checks are replaced by wider ones, the primary keys by keys with the slot: each is
-- validated at once, since the tables are small and wait for this migration anyway.
-- squawk-ignore ban-drop-constraint
ALTER TABLE blog_count_slots DROP CONSTRAINT ck_blog_count_slots_slot_range;
ALTER TABLE blog_count_slots
    -- squawk-ignore constraint-missing-not-valid
    ADD CONSTRAINT ck_blog_count_slots_slot_range CHECK (slot BETWEEN 0 AND 63);
INSERT INTO blog_count_slots (slot) SELECT generate_series(8, 63);

-- The primary key moves from (user_id) to (user_id, slot). The tables hold a row per user who
-- ever wrote or favorited (10,000 rows take milliseconds), and writes to them wait for this
-- migration in any case: their triggers' functions are replaced below.
ALTER TABLE user_blog_counts ADD COLUMN slot bigint NOT NULL DEFAULT 0;
ALTER TABLE user_blog_counts
    -- squawk-ignore constraint-missing-not-valid
    ADD CONSTRAINT ck_user_blog_counts_slot_range CHECK (slot BETWEEN 0 AND 15);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX pk_user_blog_counts_slots ON user_blog_counts (user_id, slot);
-- squawk-ignore ban-drop-constraint
ALTER TABLE user_blog_counts DROP CONSTRAINT pk_user_blog_counts;
ALTER TABLE user_blog_counts
    ADD CONSTRAINT pk_user_blog_counts PRIMARY KEY USING INDEX pk_user_blog_counts_slots;

ALTER TABLE user_favorite_counts ADD COLUMN slot bigint NOT NULL DEFAULT 0;
ALTER TABLE user_favorite_counts
    -- squawk-ignore constraint-missing-not-valid
    ADD CONSTRAINT ck_user_favorite_counts_slot_range CHECK (slot BETWEEN 0 AND 15);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX pk_user_favorite_counts_slots ON user_favorite_counts (user_id, slot);
-- squawk-ignore ban-drop-constraint
ALTER TABLE user_favorite_counts DROP CONSTRAINT pk_user_favorite_counts;
ALTER TABLE user_favorite_counts
    ADD CONSTRAINT pk_user_favorite_counts PRIMARY KEY USING INDEX pk_user_favorite_counts_slots;

-- The slot of a user's counter row that this transaction adds to, for a statement that counts
-- for `users` users: the lowest of 1-15 no other transaction holds, or 0 past 16 users. A row lock
-- cannot say which slot is free: the row may not exist yet, or exist only in another transaction
-- not yet committed. So each writer takes a transaction-level advisory lock on (counter, user,
-- slot), held until it commits, and tries the next slot while one is taken; writers never wait
-- for each other unless all 15 slots are held. `counter`: 1 for blogs, 2 for favorites. Two users
-- 2^27 ids apart share lock keys: one of them may skip a free slot.
CREATE FUNCTION user_counter_slot(counter integer, user_id bigint, users bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF users > 16 THEN
        RETURN 0;
    END IF;
    FOR slot IN 1..15 LOOP
        IF pg_try_advisory_xact_lock(counter, ((user_id * 16 + slot) % 2147483648)::integer) THEN
            RETURN slot;
        END IF;
    END LOOP;
    RETURN 1 + txid_current() % 15;
END
$$;

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
                ORDER BY s.slot = txid_current() % 64 DESC, s.slot
                LIMIT 1
                FOR NO KEY UPDATE SKIP LOCKED
            ),
            txid_current() % 64
        )
    )
    INSERT INTO user_blog_counts AS c (user_id, slot, blog_count)
    SELECT a.user_id, user_counter_slot(1, a.user_id, (SELECT count(*) FROM added)), a.n
    FROM added AS a
    ORDER BY a.user_id
    ON CONFLICT (user_id, slot) DO UPDATE SET blog_count = c.blog_count + excluded.blog_count;
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
                ORDER BY s.slot = txid_current() % 64 DESC, s.slot
                LIMIT 1
                FOR NO KEY UPDATE SKIP LOCKED
            ),
            txid_current() % 64
        )
    )
    INSERT INTO user_blog_counts AS c (user_id, slot, blog_count)
    SELECT g.user_id, user_counter_slot(1, g.user_id, (SELECT count(*) FROM gone)), -g.n
    FROM gone AS g
    WHERE EXISTS (SELECT FROM users AS u WHERE u.id = g.user_id)
    ORDER BY g.user_id
    ON CONFLICT (user_id, slot) DO UPDATE SET blog_count = c.blog_count + excluded.blog_count;
    RETURN NULL;
END
$$;

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
    ), per_user AS (
        SELECT user_id, count(*) AS n FROM new_favorites GROUP BY user_id
    )
    INSERT INTO user_favorite_counts AS c (user_id, slot, favorite_count)
    SELECT p.user_id, user_counter_slot(2, p.user_id, (SELECT count(*) FROM per_user)), p.n
    FROM per_user AS p
    ORDER BY p.user_id
    ON CONFLICT (user_id, slot) DO UPDATE
    SET favorite_count = c.favorite_count + excluded.favorite_count;
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
    )
    INSERT INTO user_favorite_counts AS c (user_id, slot, favorite_count)
    SELECT p.user_id, user_counter_slot(2, p.user_id, (SELECT count(*) FROM per_user)), -p.n
    FROM per_user AS p
    WHERE EXISTS (SELECT FROM users AS u WHERE u.id = p.user_id)
    ORDER BY p.user_id
    ON CONFLICT (user_id, slot) DO UPDATE
    SET favorite_count = c.favorite_count + excluded.favorite_count;
    RETURN NULL;
END
$$;
