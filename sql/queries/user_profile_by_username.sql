-- One user by username in any letter case (on uq_users_username_lower), with whether the
-- reader follows them.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
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
WHERE lower(u.username) = lower(:username)
