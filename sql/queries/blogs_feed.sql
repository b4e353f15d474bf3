-- The reader's feed: blogs by the authors they follow, newest first, after the keyset. Each
-- followed author's newest `limit` blogs after the keyset come from their own index
-- (ix_blogs_user_id_created_at_id), and the newest `limit` of those make the page: the cost is at
-- most (follows x limit) index rows, bounded because a user follows at most MAX_FOLLOWS users,
-- and never a walk of everyone's blogs looking for the followed authors'. A reader whose token
-- version has moved on follows no one here.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), page AS (
    SELECT newest.id, newest.created_at
    FROM follows AS f
    CROSS JOIN LATERAL (
        SELECT b.id, b.created_at
        FROM blogs AS b
        WHERE b.user_id = f.followed_id
          AND (b.created_at, b.id) < (:before_created_at, :before_id)
        ORDER BY b.created_at DESC, b.id DESC
        LIMIT :limit
    ) AS newest
    WHERE f.follower_id = (SELECT id FROM reader)
    ORDER BY newest.created_at DESC, newest.id DESC
    LIMIT :limit
)
SELECT
       -- include: blog_card with body_chars = 1000
FROM page
JOIN blog_cards AS c ON c.id = page.id
ORDER BY page.created_at DESC, page.id DESC
