-- An offset page of one author's blogs (username in any letter case), newest first, optionally
-- only those carrying a tag and/or favorited by a user (usernames in any letter case), with the
-- capped count. The author is the most selective filter: walks ix_blogs_user_id_created_at_id for
-- that author and checks the tag (pk_blog_tags) and the favorite (pk_favorites) per blog, until
-- `walk` blogs match or the author's blogs run out; never other authors' blogs.
-- The shape every articles_*.sql shares: `matches` holds at most `walk` rows (the cap on the
-- count plus one, or offset + limit when that is more), numbered newest first by a window over
-- the index walk's own order (no sort); the page is the numbered rows after `offset`, read
-- from blog_cards alone, and `matched` counts `matches` (the caller caps it). Past the end,
-- one row with a NULL id still carries the count. Rows come in no order: the caller sorts the
-- page (at most `limit` rows) by `n`, so no sort in the plan reaches blogs.
-- params: author, tag, favorited, walk, offset, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $7 AND token_version = $8
), matches AS (
    SELECT w.id, row_number() OVER (ORDER BY w.created_at DESC, w.id DESC) AS n
    FROM (
        SELECT b.id, b.created_at
        FROM blogs AS b
        WHERE b.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower($1))
          AND ($2::text IS NULL OR EXISTS (
              SELECT FROM blog_tags AS bt
              WHERE bt.blog_id = b.id
                AND bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = $2)
          ))
          AND ($3::text IS NULL OR EXISTS (
              SELECT FROM favorites AS fa
              WHERE fa.blog_id = b.id
                AND fa.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower($3))
              OFFSET 0  -- a probe per blog, never a hash of all the user's favorites
          ))
        ORDER BY b.created_at DESC, b.id DESC
        LIMIT $4
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
) ON page.n > $5 AND page.n <= $5 + $6
