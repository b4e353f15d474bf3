-- Take a blog off the user's favorites. `found`: whether the blog exists; `removed`: false when
-- it was not a favorite.
-- params: user_id, blog_id
-- read-only: no
WITH removed AS (
    DELETE FROM favorites WHERE user_id = $1 AND blog_id = $2
    RETURNING blog_id
)
SELECT EXISTS (SELECT FROM blogs WHERE id = $2) AS found, EXISTS (SELECT FROM removed) AS removed
