-- An offset page of the blogs carrying one tag, newest first, with the tag's count (a counter).
-- Walks ix_blog_tags_tag_id_blog_created_at_blog_id (index only) for the tag's newest `walk`
-- (offset + limit) links.
-- Counted and paged by _parts/count_and_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS (
    SELECT bt.blog_id AS id, bt.blog_created_at AS created_at
    FROM blog_tags AS bt
    WHERE bt.tag_id = (SELECT t.id FROM tags AS t WHERE t.name = :tag)
    ORDER BY bt.blog_created_at DESC, bt.blog_id DESC
    LIMIT :walk
), known AS (
    -- The tag's blogs, kept by the counter triggers: its row and its slot rows (0 for no such
    -- tag).
    SELECT coalesce((
        SELECT t.blog_count + coalesce(
            (SELECT sum(s.blog_count) FROM tag_blog_counts AS s WHERE s.tag_id = t.id), 0
        )
        FROM tags AS t
        WHERE t.name = :tag
    ), 0)::bigint AS matched
),
-- include: count_and_page
