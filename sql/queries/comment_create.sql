-- Write a comment on a blog and answer it with its author's profile, in one round trip.
-- Primary-key lookups on blogs and users, each row locked FOR KEY SHARE: a blog or an author
-- deleted meanwhile (committed, or committing while we wait for its lock) drops out of the
-- SELECT, so nothing is inserted and the foreign keys are never violated; a deletion that comes
-- later waits for this transaction and then cascades to the new comment.
-- No row: the author is gone. A row whose `id` is NULL: the blog is gone (or never was).
-- The author is the reader here, and nobody follows themselves: `author_following` is false.
-- read-only: no
WITH blog AS (
    SELECT id FROM blogs WHERE id = :blog_id FOR KEY SHARE
), author AS (
    SELECT id, name, username, bio, image FROM users WHERE id = :user_id FOR KEY SHARE
), inserted AS (
    INSERT INTO comments (blog_id, user_id, body)
    SELECT blog.id, author.id, :body
    FROM blog, author
    RETURNING id, body, created_at, updated_at
)
SELECT inserted.id,
       inserted.body,
       inserted.created_at,
       inserted.updated_at,
       author.id       AS author_id,
       author.name     AS author_name,
       author.username AS author_username,
       author.bio      AS author_bio,
       author.image    AS author_image,
       false           AS author_following
FROM author
LEFT JOIN inserted ON true
