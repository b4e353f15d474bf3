-- Make a blog one of the user's favorites. `found`: whether the blog exists; `added`: false
-- when it already was a favorite (the row is left as it was). tg_favorites_counts_insert
-- keeps the blog's and the user's counts.
-- read-only: no
WITH target AS (
    SELECT id, created_at FROM blogs WHERE id = :blog_id
), added AS (
    INSERT INTO favorites (user_id, blog_id, blog_created_at)
    SELECT :user_id, id, created_at FROM target
    ON CONFLICT DO NOTHING
    RETURNING blog_id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM added) AS added
