-- One author's page of blogs, newest first, after the keyset (before_created_at, before_id).
-- Walks ix_blogs_user_id_created_at_id in order; see blogs_page.sql.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: blog_card with body_chars = 1000
FROM blog_cards AS c
WHERE c.owner_id = :author_id
  AND (c.created_at, c.id) < (:before_created_at, :before_id)
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit
