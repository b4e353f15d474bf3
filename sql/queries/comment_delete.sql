-- Delete a blog's comment if `user_id` wrote it or owns the blog, in one round trip: a
-- primary-key lookup on comments (checked to belong to `blog_id`) and on blogs.
-- No row: the blog has no such comment. Otherwise `deleted` says whether it went, and
-- `author_id` and `owner_id` who may delete it (when neither is `user_id`, it is forbidden;
-- when one is but nothing was deleted, someone else deleted it meanwhile).
-- read-only: no
WITH target AS (
    SELECT c.id, c.user_id AS author_id, b.user_id AS owner_id
    FROM comments AS c
    JOIN blogs AS b ON b.id = c.blog_id
    WHERE c.id = :id
      AND c.blog_id = :blog_id
), deleted AS (
    DELETE FROM comments AS c
    USING target
    WHERE c.id = target.id
      AND :user_id IN (target.author_id, target.owner_id)
    RETURNING c.id
)
SELECT target.author_id,
       target.owner_id,
       deleted.id IS NOT NULL AS deleted
FROM target
LEFT JOIN deleted ON true
