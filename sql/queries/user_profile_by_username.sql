-- One user by username in any letter case (on uq_users_username_lower), with whether the
-- reader follows them.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: profile_card
FROM users AS u
WHERE lower(u.username) = lower(:username)
