-- A blog as every endpoint shows it: the blog, its owner's profile and its tags (sorted). The
-- queries in sql/queries/ pick which blogs and in what order, and read them from here; the
-- view is inlined into each, so a filter or keyset on `id`, `created_at` or `owner_id` is still an
-- index condition on blogs. The reader's own flags (favorited, following) are the queries'.
CREATE VIEW blog_cards AS
SELECT b.id,
       b.slug,
       b.title,
       b.description,
       b.body,
       b.created_at,
       b.updated_at,
       b.favorites_count,
       ARRAY(
           SELECT t.name
           FROM blog_tags AS bt
           JOIN tags AS t ON t.id = bt.tag_id
           WHERE bt.blog_id = b.id
           ORDER BY t.name
       ) AS tags,
       b.user_id  AS owner_id,
       u.name     AS owner_name,
       u.username AS owner_username,
       u.bio      AS owner_bio,
       u.image    AS owner_image
FROM blogs AS b
JOIN users AS u ON u.id = b.user_id;
