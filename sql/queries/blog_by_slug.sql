-- One blog found by its slug (uq_blogs_slug), as blog_detail.sql shows it.
-- params: slug, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $2 AND token_version = $3
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
WHERE c.slug = $1
