-- Update a blog if `user_id` owns it and, when `versions` is not NULL, its updated_at is one of
-- them (If-Match), in one round trip. A NULL title, body, description or tags keeps the old one;
-- `tags` replaces the blog's tags (created if new, as in blog_create.sql).
-- No row: the blog does not exist. A row with a NULL `id`: it exists but was not updated
-- (`owner_id` says whether the caller owns it). The version check sits in the UPDATE's WHERE,
-- so an edit that commits first is seen by the re-check PostgreSQL makes after waiting for it.
-- updated_at uses clock_timestamp() so it moves even within one transaction.
-- The tags shown are the new ones when given (the statement cannot see its own links), else the
-- blog's. Shown as every blog is (_parts/blog_card.sql), from what the statement wrote (blog_cards
-- cannot see it), with the owner's own flags: the only reader of an edit is its owner.
-- read-only: no
WITH target AS (
    SELECT id, user_id FROM blogs WHERE id = :id
), updated AS (
    UPDATE blogs AS b
    SET title       = coalesce(:title::text, b.title),
        body        = coalesce(:body::text, b.body),
        description = coalesce(:description::text, b.description),
        updated_at  = clock_timestamp()
    FROM target
    WHERE b.id = target.id
      AND target.user_id = :user_id
      AND (:versions::timestamptz[] IS NULL OR b.updated_at = ANY (:versions::timestamptz[]))
    RETURNING b.id, b.slug, b.title, b.description, b.body, b.created_at, b.updated_at,
              b.favorites_count
), touched AS (
    -- Every tag the edit changes the count of, the given ones and those it drops, locked here
    -- in one order (code points, as blog_create's tags come): two edits taking them in
    -- different orders, or taking the dropped ones only when their counts change at the end,
    -- could each hold a tag the other waits for. The update sets no key (blog_create.sql says
    -- why).
    INSERT INTO tags (name)
    SELECT name
    FROM (
        SELECT unnest(:tags::text[]) AS name
        UNION
        SELECT t.name
        FROM blog_tags AS bt
        JOIN tags AS t ON t.id = bt.tag_id
        WHERE :tags::text[] IS NOT NULL AND bt.blog_id = :id
    ) AS changed
    WHERE EXISTS (SELECT FROM updated)
    ORDER BY name COLLATE "C"
    ON CONFLICT (name) DO UPDATE SET blog_count = tags.blog_count
    RETURNING id, name
), tag_ids AS (
    SELECT id, name FROM touched WHERE name = ANY (:tags::text[])
), unlinked AS (
    DELETE FROM blog_tags AS bt
    USING updated
    WHERE :tags::text[] IS NOT NULL
      AND bt.blog_id = updated.id
      AND bt.tag_id NOT IN (SELECT id FROM tag_ids)
), linked AS (
    INSERT INTO blog_tags (blog_id, tag_id, blog_created_at)
    SELECT updated.id, tag_ids.id, updated.created_at
    FROM updated CROSS JOIN tag_ids
    ON CONFLICT DO NOTHING
), reader AS (
    SELECT :user_id::bigint AS id  -- the only reader of an edit is its owner
)
SELECT
       -- include: blog_card with body_chars = NULL
FROM (
    SELECT updated.id,
           updated.slug,
           updated.title,
           updated.description,
           updated.body,
           CASE WHEN :tags::text[] IS NULL THEN cards.tags
                ELSE ARRAY(SELECT name FROM tag_ids ORDER BY name)
           END AS tags,
           updated.created_at,
           updated.updated_at,
           updated.favorites_count,
           cards.owner_id,
           cards.owner_name,
           cards.owner_username,
           cards.owner_bio,
           cards.owner_image
    FROM target
    JOIN blog_cards AS cards ON cards.id = target.id
    LEFT JOIN updated ON true
) AS c
