-- One blog found by its slug (uq_blogs_slug), as blog_detail.sql shows it.
-- read-only: yes
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
)
SELECT
       -- include: blog_card with body_chars = NULL
FROM blog_cards AS c
WHERE c.slug = :slug
