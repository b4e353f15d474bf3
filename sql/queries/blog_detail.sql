-- One blog as sql/migrations/0014_blog_cards.sql shows it, with the reader's flags (see
-- service/profiles.py): primary-key lookups only.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: blog_card with body_chars = NULL
FROM blog_cards AS c
WHERE c.id = :id
