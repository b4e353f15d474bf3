-- The most used tags first, at most `limit`; tags no blog carries any more are left out.
-- A tag's count is tags.blog_count plus its rows of tag_blog_counts (0024). The tags with such
-- rows (few: those whose writers overlapped since the last fold) are summed; the others come
-- in order from ix_tags_blog_count_name, and only the first `limit` of them can be among the
-- most used.
-- read-only: yes
WITH parked AS MATERIALIZED (
    SELECT s.tag_id AS id, sum(s.blog_count)::bigint AS n
    FROM tag_blog_counts AS s
    GROUP BY s.tag_id
), settled AS (
    SELECT t.name, t.blog_count
    FROM tags AS t
    WHERE t.blog_count > 0 AND t.id NOT IN (SELECT id FROM parked)
    ORDER BY t.blog_count DESC, t.name
    LIMIT :limit
), moving AS (
    SELECT t.name, t.blog_count + p.n AS blog_count
    FROM parked AS p
    JOIN tags AS t ON t.id = p.id
)
SELECT name, blog_count
FROM (SELECT name, blog_count FROM settled UNION ALL SELECT name, blog_count FROM moving) AS c
WHERE blog_count > 0
ORDER BY blog_count DESC, name
LIMIT :limit
