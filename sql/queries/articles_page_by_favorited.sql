-- An offset page of the blogs one user (username in any letter case) made favorites, newest
-- first, optionally only those carrying a tag, with the count: the user's counter alone, capped
-- by the walk with a tag. Walks
-- ix_favorites_user_id_blog_created_at_blog_id (favorites keeps each blog's created_at for this)
-- and checks the tag per favorite (pk_blog_tags), until `walk` match or the favorites run out.
-- Counted and paged by _parts/count_and_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS (
    SELECT fa.blog_id AS id, fa.blog_created_at AS created_at
    FROM favorites AS fa
    WHERE fa.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower(:favorited))
      AND (:tag::text IS NULL OR EXISTS (
          SELECT FROM blog_tags AS bt
          WHERE bt.blog_id = fa.blog_id
            AND bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = :tag)
      ))
    ORDER BY fa.blog_created_at DESC, fa.blog_id DESC
    LIMIT :walk
), known AS (
    -- The user's favorites, the sum of the slots the counter triggers keep, when no tag is
    -- given (0 for no such user); with a tag no counter holds the count.
    SELECT CASE WHEN :tag::text IS NULL THEN coalesce((
        SELECT sum(c.favorite_count)::bigint
        FROM user_favorite_counts AS c
        WHERE c.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower(:favorited))
    ), 0) END AS matched
),
-- include: count_and_page
