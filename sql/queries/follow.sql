-- The follower (if their token version is current) follows a user. One row whatever happens:
-- the followed user (NULL columns when there is none) and what the statement found, from
-- which service/follows.py picks the answer.
--
-- The cap: the follower's follows are counted in the statement's snapshot (at most max_follows
-- of them, on pk_follows), so follows by the same user that run at the same moment do not see
-- each other's rows: N of them started at max_follows - 1 follows can leave up to
-- max_follows + N - 1. N is bounded by how many requests of one user run at once (at most the
-- connection pool's size per instance); one at a time, the cap is exact.
-- read-only: no
WITH follower AS (
    SELECT id FROM users WHERE id = :follower_id AND token_version = :follower_version
),
followed AS (
    SELECT id, name, username, bio, image, created_at FROM users WHERE id = :followed_id
),
already AS (
    SELECT 1 FROM follows WHERE follower_id = :follower_id AND followed_id = :followed_id
),
counted AS (
    SELECT count(*) AS follows FROM (SELECT 1 FROM follows WHERE follower_id = :follower_id LIMIT :max_follows) AS f
),
inserted AS (
    INSERT INTO follows (follower_id, followed_id)
    SELECT r.id, d.id
    FROM follower AS r, followed AS d, counted AS c
    WHERE r.id <> d.id
      AND c.follows < :max_follows
      AND NOT EXISTS (SELECT 1 FROM already)
    -- A follow of the same pair committed since the snapshot: the caller answers 409.
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM follower) AS follower_found,
       EXISTS (SELECT 1 FROM inserted) AS followed_now,
       EXISTS (SELECT 1 FROM already) AS already_following,
       (SELECT follows FROM counted) AS follows,
       d.id,
       d.name,
       d.username,
       d.bio,
       d.image,
       d.created_at
FROM (VALUES (1)) AS one
LEFT JOIN followed AS d ON true
