-- One blog with its owner: a primary-key lookup on each table.
-- params: id
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
WHERE b.id = $1
