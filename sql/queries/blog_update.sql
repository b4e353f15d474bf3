-- Update a blog if `user_id` owns it and, when `versions` is not NULL, its updated_at is one of
-- them (If-Match), in one round trip. A NULL title or body keeps the old one.
-- No row: the blog does not exist. A row with a NULL `id`: it exists but was not updated
-- (`owner_id` says whether the caller owns it). The version check sits in the UPDATE's WHERE,
-- so an edit that commits first is seen by the re-check PostgreSQL makes after waiting for it.
-- updated_at uses clock_timestamp() so it moves even within one transaction.
-- params: id, user_id, title, body, versions
-- read-only: no
WITH target AS (
    SELECT id, user_id FROM blogs WHERE id = $1
), updated AS (
    UPDATE blogs AS b
    SET title      = coalesce($3::text, b.title),
        body       = coalesce($4::text, b.body),
        updated_at = clock_timestamp()
    FROM target
    WHERE b.id = target.id
      AND target.user_id = $2
      AND ($5::timestamptz[] IS NULL OR b.updated_at = ANY ($5::timestamptz[]))
    RETURNING b.id, b.title, b.body, b.created_at, b.updated_at
)
SELECT updated.id,
       updated.title,
       updated.body,
       updated.created_at,
       updated.updated_at,
       u.id   AS owner_id,
       u.name AS owner_name
FROM target
JOIN users AS u ON u.id = target.user_id
LEFT JOIN updated ON true
