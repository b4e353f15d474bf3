-- A page of users in id order, after `after_id` (0 for the first page).
-- params: after_id, limit
-- read-only: yes
SELECT id, name, created_at
FROM users
WHERE id > $1
ORDER BY id
LIMIT $2
