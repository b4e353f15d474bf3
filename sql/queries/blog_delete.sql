-- Delete a blog if `user_id` owns it, in one round trip.
-- No row: the blog does not exist. Otherwise `deleted` says whether it went and `owner_id`
-- who owns it.
-- read-only: no
WITH target AS (
    SELECT id, user_id FROM blogs WHERE id = :id
), deleted AS (
    DELETE FROM blogs AS b
    USING target
    WHERE b.id = target.id
      AND target.user_id = :user_id
    RETURNING b.id
)
SELECT target.user_id AS owner_id,
       deleted.id IS NOT NULL AS deleted
FROM target
LEFT JOIN deleted ON true
