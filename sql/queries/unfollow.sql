-- The follower (if their token version is current) stops following a user. One row whatever
-- happens: the followed user (NULL columns when there is none) and what the statement found,
-- from which service/follows.py picks the answer.
-- read-only: no
WITH follower AS (
    SELECT id FROM users WHERE id = :follower_id AND token_version = :follower_version
),
deleted AS (
    DELETE FROM follows AS f
    USING follower AS r
    WHERE f.follower_id = r.id AND f.followed_id = :followed_id
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM follower) AS follower_found,
       EXISTS (SELECT 1 FROM deleted) AS unfollowed,
       d.id,
       d.name,
       d.username,
       d.bio,
       d.image,
       d.created_at
FROM (VALUES (1)) AS one
LEFT JOIN users AS d ON d.id = :followed_id
