-- One author's page of blogs, newest first, after the keyset (before_created_at, before_id).
-- Walks ix_blogs_user_id_created_at_id in order; see blogs_page.sql.
-- params: author_id, before_created_at, before_id, limit
-- read-only: yes
SELECT b.id,
       b.title,
       b.body,
       b.created_at,
       b.updated_at,
       u.id   AS owner_id,
       u.name AS owner_name
FROM blogs AS b
JOIN users AS u ON u.id = b.user_id
WHERE b.user_id = $1
  AND (b.created_at, b.id) < ($2, $3)
ORDER BY b.created_at DESC, b.id DESC
LIMIT $4
