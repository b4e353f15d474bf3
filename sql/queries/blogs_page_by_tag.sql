-- A page of the blogs carrying one tag, newest first, after the keyset: walks
-- ix_blog_tags_tag_id_blog_created_at_blog_id (blog_tags keeps each blog's created_at for that),
-- so the cost is the page's rows however many blogs carry the tag. The tag's id comes from a
-- scalar subquery, not a join: a join's output keeps only the outer side's order, so the
-- planner would sort all of the tag's links to take the newest page.
-- params: tag, before_created_at, before_id, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $5 AND token_version = $6
), page AS (
    SELECT bt.blog_id, bt.blog_created_at
    FROM blog_tags AS bt
    WHERE bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = $1)
      AND (bt.blog_created_at, bt.blog_id) < ($2, $3)
    ORDER BY bt.blog_created_at DESC, bt.blog_id DESC
    LIMIT $4
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
JOIN blog_cards AS c ON c.id = page.blog_id
ORDER BY page.blog_created_at DESC, page.blog_id DESC
