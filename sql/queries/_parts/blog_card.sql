-- The blog card: every column a blog is shown with (the blog_cards view,
-- sql/migrations/0014_blog_cards.sql) and the reader's two flags, as a select list. The statement
-- that includes it reads a blog_cards row as `c` and has a CTE `reader` (the reader's id, or no
-- row: anonymous or a stale token version). Each flag is a primary-key probe for the card's blog.
-- `body_chars`, bound on the include line: a list shows each body's first 1,000 characters
-- (service.models.BODY_EXCERPT), so a page's size is bounded; a single read binds NULL, the whole;
-- the RealWorld lists, which show no body, 0.
c.id,
c.slug,
c.title,
c.description,
CASE WHEN :body_chars IS NULL THEN c.body ELSE left(c.body, :body_chars) END AS body,
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
