-- A page of a blog's comments, oldest first, after the keyset `after_id` (0 for the first
-- page), with each author's profile and whether the reader follows them (see
-- service/profiles.py). Never reads blogs: an empty page is the caller's cue to ask whether the
-- blog exists.
--
-- Walks ix_comments_blog_id_id in order from (blog_id, after_id) and stops after `limit` rows,
-- at any depth; authors and follows are primary-key lookups for the page's rows only. The
-- condition says "blog_id = $1 AND id > $2" as a row comparison with an upper bound, and orders
-- by (blog_id, id), so that only that index gives the order: written plainly, the planner may
-- walk pk_comments in id order instead and filter on blog_id, for a blog that has many of the
-- comments (statistics say so) but only recent ones, which reads every older comment of every
-- other blog first.
-- params: blog_id, after_id, limit, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $4 AND token_version = $5
)
SELECT c.id,
       c.body,
       c.created_at,
       c.updated_at,
       u.id       AS author_id,
       u.name     AS author_name,
       u.username AS author_username,
       u.bio      AS author_bio,
       u.image    AS author_image,
       EXISTS (
           SELECT FROM follows AS fo
           WHERE fo.follower_id = (SELECT id FROM reader) AND fo.followed_id = u.id
       ) AS author_following
FROM comments AS c
JOIN users AS u ON u.id = c.user_id
WHERE (c.blog_id, c.id) > ($1, $2)
  AND c.blog_id <= $1
ORDER BY c.blog_id, c.id
LIMIT $3
