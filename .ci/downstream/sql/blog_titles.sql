-- A user's blog titles, newest first, at most `limit` (ix_blogs_user_id_created_at_id).
-- params: user_id, limit
-- read-only: yes
SELECT id, title
FROM blogs
WHERE user_id = $1
ORDER BY created_at DESC, id DESC
LIMIT $2
