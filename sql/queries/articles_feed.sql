-- An offset page of the reader's feed (blogs by the authors they follow), newest first, with
-- the capped count. As blogs_feed.sql: each followed author's newest `walk` blogs come from their
-- own index (ix_blogs_user_id_created_at_id) and the newest `walk` of those are kept, so the cost
-- is at most (follows x walk) index rows, bounded by MAX_FOLLOWS and the feed's own smaller cap.
-- A reader whose token version has moved on follows no one here.
-- The shape every articles_*.sql shares: `matches` holds at most `walk` rows (the cap on the
-- count plus one, or offset + limit when that is more), numbered newest first by a window over
-- the index walk's own order (no sort); the page is the numbered rows after `offset`, read
-- from blog_cards alone, and `matched` counts `matches` (the caller caps it). Past the end,
-- one row with a NULL id still carries the count. Rows come in no order: the caller sorts the
-- page (at most `limit` rows) by `n`, so no sort in the plan reaches blogs.
-- params: walk, offset, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $4 AND token_version = $5
), matches AS (
    SELECT w.id, row_number() OVER (ORDER BY w.created_at DESC, w.id DESC) AS n
    FROM (
        SELECT newest.id, newest.created_at
        FROM follows AS f
        CROSS JOIN LATERAL (
            SELECT b.id, b.created_at
            FROM blogs AS b
            WHERE b.user_id = f.followed_id
            ORDER BY b.created_at DESC, b.id DESC
            LIMIT $1
        ) AS newest
        WHERE f.follower_id = (SELECT id FROM reader)
        ORDER BY newest.created_at DESC, newest.id DESC
        LIMIT $1
    ) AS w
)
SELECT total.matched,
       page.n,
       c.id,
       c.slug,
       c.title,
       c.description,
       c.body,
       c.tags,
       c.created_at,
       c.updated_at,
       c.favorites_count,
       EXISTS (
           SELECT FROM favorites AS f WHERE f.user_id = (SELECT id FROM reader) AND f.blog_id = c.id
           OFFSET 0  -- a probe per blog, never a hash of all the reader's favorites
       ) AS favorited,
       c.owner_id,
       c.owner_name,
       c.owner_username,
       c.owner_bio,
       c.owner_image,
       EXISTS (
           SELECT FROM follows AS fo
           WHERE fo.follower_id = (SELECT id FROM reader) AND fo.followed_id = c.owner_id
       ) AS owner_following
FROM (SELECT count(*) AS matched FROM matches) AS total
LEFT JOIN (
    matches AS page JOIN blog_cards AS c ON c.id = page.id
) ON page.n > $2 AND page.n <= $2 + $3
