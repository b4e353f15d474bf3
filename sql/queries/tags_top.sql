-- The most used tags first (ix_tags_blog_count_name), at most `limit`; tags no blog carries
-- any more are left out.
-- read-only: yes
SELECT name, blog_count
FROM tags
WHERE blog_count > 0
ORDER BY blog_count DESC, name
LIMIT :limit
