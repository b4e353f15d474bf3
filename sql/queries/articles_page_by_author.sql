-- An offset page of one author's blogs (username in any letter case), newest first, optionally
-- only those carrying a tag and/or favorited by a user (usernames in any letter case), with the
-- count: the author's counter alone, capped by the walk with other filters. The author is the most selective filter: walks ix_blogs_user_id_created_at_id for
-- that author and checks the tag (pk_blog_tags) and the favorite (pk_favorites) per blog, until
-- `walk` blogs match or the author's blogs run out; never other authors' blogs.
-- Counted and paged by _parts/count_and_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS (
    SELECT b.id, b.created_at
    FROM blogs AS b
    WHERE b.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower(:author))
      AND (:tag::text IS NULL OR EXISTS (
          SELECT FROM blog_tags AS bt
          WHERE bt.blog_id = b.id
            AND bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = :tag)
      ))
      AND (:favorited::text IS NULL OR EXISTS (
          SELECT FROM favorites AS fa
          WHERE fa.blog_id = b.id
            AND fa.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower(:favorited))
          OFFSET 0  -- a probe per blog, never a hash of all the user's favorites
      ))
    ORDER BY b.created_at DESC, b.id DESC
    LIMIT :walk
), known AS (
    -- The author's blogs, the sum of the slots the counter triggers keep, when no other filter
    -- is given (0 for no such author); with another filter no counter holds the count.
    SELECT CASE WHEN :tag::text IS NULL AND :favorited::text IS NULL THEN coalesce((
        SELECT sum(c.blog_count)::bigint
        FROM user_blog_counts AS c
        WHERE c.user_id = (SELECT u.id FROM users AS u WHERE lower(u.username) = lower(:author))
    ), 0) END AS matched
),
-- include: count_and_page
