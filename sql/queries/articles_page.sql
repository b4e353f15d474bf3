-- An offset page of all blogs, newest first, with how many there are (the counter's sum): the
-- RealWorld API's GET /api/articles, in one statement. Walks ix_blogs_created_at_id (index only)
-- for the newest `walk` (offset + limit) entries and stops there.
-- Counted and paged by _parts/count_and_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS (
    SELECT b.id, b.created_at
    FROM blogs AS b
    ORDER BY b.created_at DESC, b.id DESC
    LIMIT :walk
), known AS (
    -- All blogs: the sum of the slots the counter triggers keep.
    SELECT (SELECT sum(s.blog_count) FROM blog_count_slots AS s)::bigint AS matched
),
-- include: count_and_page
