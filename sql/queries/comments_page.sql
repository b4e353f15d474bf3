-- A page of a blog's comments, oldest first, after the keyset `after_id` (0 for the first
-- page), with each author's profile and whether the reader follows them (see
-- service/profiles.py). The blog is found by its id or, when `blog_id` is NULL, by its slug
-- (a primary or unique key probe): no row at all when there is no such blog, and one row whose
-- comment columns are NULL when it has no comments after `after_id`; so an empty page and an
-- unknown blog are told apart by this one statement. Rows come in no order: the caller sorts
-- the page (at most `limit` rows) by id.
--
-- Walks ix_comments_blog_id_id in order from (blog_id, after_id) and stops after `limit` rows,
-- at any depth; authors and follows are primary-key lookups for the page's rows only. The
-- condition says "blog_id = b.id AND id > after_id" as a row comparison with an upper bound,
-- and orders by (blog_id, id), so that only that index gives the order: written plainly, the
-- planner may walk pk_comments in id order instead and filter on blog_id, for a blog that has
-- many of the comments (statistics say so) but only recent ones, which reads every older
-- comment of every other blog first.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), blog AS (
    SELECT id FROM blogs WHERE id = :blog_id
    UNION ALL
    SELECT id FROM blogs WHERE slug = :slug AND :blog_id IS NULL
)
SELECT b.id AS blog_id,
       page.id,
       page.body,
       page.created_at,
       page.updated_at,
       page.author_id,
       page.author_name,
       page.author_username,
       page.author_bio,
       page.author_image,
       page.author_following
FROM blog AS b
LEFT JOIN LATERAL (
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
    WHERE (c.blog_id, c.id) > (b.id, :after_id)
      AND c.blog_id <= b.id
    ORDER BY c.blog_id, c.id
    LIMIT :limit
) AS page ON true
