-- Take a blog off the reader's favorites, if the reader's token version is current.
-- `reader_found`: whether the reader exists with that version (if not, nothing is removed);
-- `found`: whether the blog exists; `removed`: false when it was not a favorite.
-- read-only: no
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), removed AS (
    DELETE FROM favorites WHERE user_id = (SELECT id FROM reader) AND blog_id = :blog_id
    RETURNING blog_id
)
SELECT EXISTS (SELECT FROM reader) AS reader_found,
       EXISTS (SELECT FROM blogs WHERE id = :blog_id) AS found,
       EXISTS (SELECT FROM removed) AS removed
