-- Take a blog off the user's favorites. `found`: whether the blog exists; `removed`: false when
-- it was not a favorite.
-- read-only: no
WITH removed AS (
    DELETE FROM favorites WHERE user_id = :user_id AND blog_id = :blog_id
    RETURNING blog_id
)
SELECT EXISTS (SELECT FROM blogs WHERE id = :blog_id) AS found, EXISTS (SELECT FROM removed) AS removed
