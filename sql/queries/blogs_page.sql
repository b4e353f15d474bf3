-- A page of blogs, newest first, after the keyset (before_created_at, before_id), with the
-- reader's flags. Walks ix_blogs_created_at_id in order and stops after `limit` rows, at any
-- depth; the first page passes (the largest timestamp Python has, max bigint), so the row
-- comparison is always an index condition. Tags and flags are looked up for the page's rows only.
-- params: before_created_at, before_id, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $4 AND token_version = $5
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
FROM blog_cards AS c
WHERE (c.created_at, c.id) < ($1, $2)
ORDER BY c.created_at DESC, c.id DESC
LIMIT $3
