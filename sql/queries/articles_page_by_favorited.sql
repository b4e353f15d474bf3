-- An offset page of the blogs one user (username in any letter case) made favorites, newest
-- first, optionally only those carrying a tag, with the capped count. Walks
-- ix_favorites_user_id_blog_created_at_blog_id (favorites keeps each blog's created_at for this)
-- and checks the tag per favorite (pk_blog_tags), until `walk` match or the favorites run out.
-- The shape every articles_*.sql shares: `matches` holds at most `walk` rows (the cap on the
-- count plus one, or offset + limit when that is more), numbered newest first by a window over
-- the index walk's own order (no sort); the page is the numbered rows after `offset`, read
-- from blog_cards alone, and `matched` counts `matches` (the caller caps it). Past the end,
-- one row with a NULL id still carries the count. Rows come in no order: the caller sorts the
-- page (at most `limit` rows) by `n`, so no sort in the plan reaches blogs.
-- params: favorited, tag, walk, offset, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $6 AND token_version = $7
), matches AS (
    SELECT w.id, row_number() OVER (ORDER BY w.created_at DESC, w.id DESC) AS n
    FROM (
        SELECT fa.blog_id AS id, fa.blog_created_at AS created_at
        FROM favorites AS fa
        WHERE fa.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower($1))
          AND ($2::text IS NULL OR EXISTS (
              SELECT FROM blog_tags AS bt
              WHERE bt.blog_id = fa.blog_id
                AND bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = $2)
          ))
        ORDER BY fa.blog_created_at DESC, fa.blog_id DESC
        LIMIT $3
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
) ON page.n > $4 AND page.n <= $4 + $5
