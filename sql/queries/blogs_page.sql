-- A page of blogs, newest first, after the keyset (before_created_at, before_id), with the
-- reader's flags. Walks ix_blogs_created_at_id in order and stops after `limit` rows, at any
-- depth; the first page passes (the largest timestamp Python has, max bigint), so the row
-- comparison is always an index condition. Tags and flags are looked up for the page's rows only.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: blog_card with body_chars = 1000
FROM blog_cards AS c
WHERE (c.created_at, c.id) < (:before_created_at, :before_id)
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit
