-- A page of the blogs carrying one tag, newest first, after the keyset: walks
-- ix_blog_tags_tag_id_blog_created_at_blog_id (blog_tags keeps each blog's created_at for that),
-- so the cost is the page's rows however many blogs carry the tag. The tag's id comes from a
-- scalar subquery, not a join: a join's output keeps only the outer side's order, so the
-- planner would sort all of the tag's links to take the newest page.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), page AS (
    SELECT bt.blog_id, bt.blog_created_at
    FROM blog_tags AS bt
    WHERE bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = :tag)
      AND (bt.blog_created_at, bt.blog_id) < (:before_created_at, :before_id)
    ORDER BY bt.blog_created_at DESC, bt.blog_id DESC
    LIMIT :limit
)
SELECT
       -- include: blog_card with body_chars = 1000
FROM page
JOIN blog_cards AS c ON c.id = page.blog_id
ORDER BY page.blog_created_at DESC, page.blog_id DESC
