-- Make a blog one of the reader's favorites, if the reader's token version is current.
-- `reader_found`: whether the reader exists with that version (a token from before a password
-- change, or of a deleted user, adds nothing); `found`: whether the blog exists; `added`: false
-- when it already was a favorite (the row is left as it was). The reader's and the blog's rows
-- are locked FOR KEY SHARE: a deletion committed meanwhile (or committing while we wait for its
-- lock) drops out of the SELECT instead of breaking a foreign key. tg_favorites_counts_insert
-- keeps the blog's and the user's counts.
-- read-only: no
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version FOR KEY SHARE
), target AS (
    SELECT id, created_at FROM blogs WHERE id = :blog_id FOR KEY SHARE
), added AS (
    INSERT INTO favorites (user_id, blog_id, blog_created_at)
    SELECT reader.id, target.id, target.created_at FROM reader, target
    ON CONFLICT DO NOTHING
    RETURNING blog_id
)
SELECT EXISTS (SELECT FROM reader) AS reader_found,
       EXISTS (SELECT FROM target) AS found,
       EXISTS (SELECT FROM added) AS added
