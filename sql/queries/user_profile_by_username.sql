-- One user by username in any letter case (on uq_users_username_lower), with whether the
-- reader follows them.
-- params: username, reader_id, reader_version
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = $2 AND token_version = $3
)
SELECT u.id,
       u.name,
       u.username,
       u.bio,
       u.image,
       u.created_at,
       EXISTS (
           SELECT 1 FROM follows AS f, reader AS r WHERE f.follower_id = r.id AND f.followed_id = u.id
       ) AS following
FROM users AS u
WHERE lower(u.username) = lower($1)
