-- Write a blog with its tags in one statement: the blog (its slug from tg_blogs_slug), each tag
-- created if new, and the links. `ON CONFLICT DO UPDATE` returns the id of a tag that exists
-- (or that a concurrent writer has just committed), where DO NOTHING would return nothing for
-- it. It sets a column no unique index covers, so the row lock it takes (FOR NO KEY UPDATE)
-- lets other writers' links check their foreign key (FOR KEY SHARE): setting `name`, a key,
-- took FOR UPDATE, and a deletion adding to the tag's slot (0024) waited for it while holding
-- another tag this writer needed next. The tags shown are the ones given, sorted: the
-- statement's own snapshot cannot see the links it inserts. No row: the owner no longer exists
-- (FOR KEY SHARE waits for a deletion in progress and then finds no row, where the foreign key
-- check would have failed). Shown as every blog is (_parts/blog_card.sql), from what the
-- statement wrote: blog_cards cannot see it.
-- read-only: no
WITH created AS (
    INSERT INTO blogs (user_id, title, body, description)
    SELECT id, :title, :body, :description FROM users WHERE id = :user_id FOR KEY SHARE
    RETURNING id, slug, title, description, body, created_at, updated_at, favorites_count, user_id
), tag_ids AS (
    INSERT INTO tags (name)
    SELECT name FROM unnest(:tags::text[]) AS name
    WHERE EXISTS (SELECT FROM created)
    ON CONFLICT (name) DO UPDATE SET blog_count = tags.blog_count
    RETURNING id, name
), linked AS (
    INSERT INTO blog_tags (blog_id, tag_id, blog_created_at)
    SELECT created.id, tag_ids.id, created.created_at
    FROM created CROSS JOIN tag_ids
), reader AS (
    -- No one to look up: no one has favorited a blog this statement creates, and its owner
    -- follows no one as themselves, so both flags are false without a probe.
    SELECT NULL::bigint AS id
)
SELECT
       -- include: blog_card with body_chars = NULL
FROM (
    SELECT created.id,
           created.slug,
           created.title,
           created.description,
           created.body,
           ARRAY(SELECT name FROM tag_ids ORDER BY name) AS tags,
           created.created_at,
           created.updated_at,
           created.favorites_count,
           u.id       AS owner_id,
           u.name     AS owner_name,
           u.username AS owner_username,
           u.bio      AS owner_bio,
           u.image    AS owner_image
    FROM created
    JOIN users AS u ON u.id = created.user_id
) AS c
