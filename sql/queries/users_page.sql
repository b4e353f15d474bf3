-- A page of users in id order, after `after_id` (0 for the first page), each with whether the
-- reader follows them: a primary-key lookup in follows per user, none for an anonymous reader.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: profile_card
FROM users AS u
WHERE u.id > :after_id
ORDER BY u.id
LIMIT :limit
