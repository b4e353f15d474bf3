-- The reader's feed: blogs by the authors they follow, newest first, after the keyset. Each
-- followed author's newest `limit` blogs after the keyset come from their own index
-- (ix_blogs_user_id_created_at_id), and the newest `limit` of those make the page: the cost is at
-- most (follows x limit) index rows, bounded because a user follows at most MAX_FOLLOWS users,
-- and never a walk of everyone's blogs looking for the followed authors'. A reader whose token
-- version has moved on follows no one here.
-- params: before_created_at, before_id, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $4 AND token_version = $5
), page AS (
    SELECT newest.id, newest.created_at
    FROM follows AS f
    CROSS JOIN LATERAL (
        SELECT b.id, b.created_at
        FROM blogs AS b
        WHERE b.user_id = f.followed_id
          AND (b.created_at, b.id) < ($1, $2)
        ORDER BY b.created_at DESC, b.id DESC
        LIMIT $3
    ) AS newest
    WHERE f.follower_id = (SELECT id FROM reader)
    ORDER BY newest.created_at DESC, newest.id DESC
    LIMIT $3
)
SELECT c.id,
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
FROM page
JOIN blog_cards AS c ON c.id = page.id
ORDER BY page.created_at DESC, page.id DESC
