-- A user's blog titles, newest first, at most `limit` (ix_blogs_user_id_created_at_id).
-- read-only: yes
SELECT id, title
FROM blogs
WHERE user_id = :user_id
ORDER BY created_at DESC, id DESC
LIMIT :limit
