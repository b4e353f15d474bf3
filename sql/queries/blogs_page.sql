-- A page of blogs, newest first, after the keyset (before_created_at, before_id).
-- Walks ix_blogs_created_at_id in order and stops after `limit` rows, at any depth; the first
-- page passes (the largest timestamp Python has, max bigint), so the row comparison is always an
-- index condition.
-- params: before_created_at, before_id, limit
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
WHERE (b.created_at, b.id) < ($1, $2)
ORDER BY b.created_at DESC, b.id DESC
LIMIT $3
