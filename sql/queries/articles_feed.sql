-- An offset page of the reader's feed (blogs by the authors they follow), newest first, with
-- the capped count. As blogs_feed.sql: each followed author's newest `walk` blogs come from their
-- own index (ix_blogs_user_id_created_at_id) and the newest `walk` of those are kept, so the cost
-- is at most (follows x walk) index rows, bounded by MAX_FOLLOWS and the feed's own smaller cap.
-- A reader whose token version has moved on follows no one here.
-- Counted and paged by _parts/count_and_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS (
    SELECT newest.id, newest.created_at
    FROM follows AS f
    CROSS JOIN LATERAL (
        SELECT b.id, b.created_at
        FROM blogs AS b
        WHERE b.user_id = f.followed_id
        ORDER BY b.created_at DESC, b.id DESC
        LIMIT :walk
    ) AS newest
    WHERE f.follower_id = (SELECT id FROM reader)
    ORDER BY newest.created_at DESC, newest.id DESC
    LIMIT :walk
), known AS (
    -- No counter holds a feed's size: counted from the walk, up to the cap.
    SELECT NULL::bigint AS matched
),
-- include: count_and_page
