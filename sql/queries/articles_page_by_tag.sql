-- An offset page of the blogs carrying one tag, newest first, with the capped count. Walks
-- ix_blog_tags_tag_id_blog_created_at_blog_id (index only) for the tag's newest `walk` links.
-- The shape every articles_*.sql shares: `matches` holds at most `walk` rows (the cap on the
-- count plus one, or offset + limit when that is more), numbered newest first by a window over
-- the index walk's own order (no sort); the page is the numbered rows after `offset`, read
-- from blog_cards alone, and `matched` counts `matches` (the caller caps it). Past the end,
-- one row with a NULL id still carries the count. Rows come in no order: the caller sorts the
-- page (at most `limit` rows) by `n`, so no sort in the plan reaches blogs.
-- params: tag, walk, offset, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $5 AND token_version = $6
), matches AS (
    SELECT w.id, row_number() OVER (ORDER BY w.created_at DESC, w.id DESC) AS n
    FROM (
        SELECT bt.blog_id AS id, bt.blog_created_at AS created_at
        FROM blog_tags AS bt
        WHERE bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = $1)
        ORDER BY bt.blog_created_at DESC, bt.blog_id DESC
        LIMIT $2
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
) ON page.n > $3 AND page.n <= $3 + $4
