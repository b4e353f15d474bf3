-- The search algorithm both blogs_search.sql and blogs_search_by_author.sql run, after their
-- CTEs `reader` and `newest`: `newest` is the file's own walk of at most `window` blogs, newest
-- first, with (id, created_at, matches, step), `step` numbering the walk from 1. When
-- `author_id` is not NULL, step 2 reads that author's blogs only (a custom plan folds the test
-- away; blogs_search.sql binds it to NULL).
walked AS MATERIALIZED (
    SELECT newest.id, newest.created_at, newest.matches, newest.step = :window AS last
    FROM newest
    -- The matches, and the window's last blog: there, step 1 could not finish the page.
    WHERE newest.matches OR newest.step = :window
    LIMIT :limit
), further AS (
    SELECT count(*) FILTER (WHERE matches) < :limit AND coalesce(bool_or(last), false) AS needed
    FROM walked
), route AS (
    -- Through the GIN index only when the query has a word to look up there (querytree is
    -- 'T' for one made only of exclusions, `-the -a`, which the index would answer by reading
    -- itself whole and rechecking every blog) and the statistics say few blogs hold the words
    -- (the estimate is asked only when needed); otherwise the page ends at the window, with a
    -- cursor to walk on from there.
    SELECT needed,
           needed
           AND querytree(websearch_to_tsquery(:config::regconfig, :query::text)) <> 'T'
           AND blogs_search_estimate(:config::regconfig, :query::text) <= :index_max AS by_index
    FROM further
), found AS (
    SELECT id FROM walked
    WHERE matches AND NOT (SELECT by_index FROM route)
    UNION ALL
    (
        SELECT matching.id
        FROM (
            SELECT id, created_at
            FROM blogs
            WHERE (SELECT by_index FROM route)
              AND (:author_id::bigint IS NULL OR user_id = :author_id)
              AND search_vector @@ websearch_to_tsquery(:config::regconfig, :query::text)
            OFFSET 0
        ) AS matching
        WHERE (matching.created_at, matching.id) < (:before_created_at, :before_id)
        ORDER BY matching.created_at DESC, matching.id DESC
        LIMIT :limit
    )
)
(
SELECT false AS resume,
       -- include: blog_card with body_chars = 1000
FROM found
JOIN blog_cards AS c ON c.id = found.id
ORDER BY c.created_at DESC, c.id DESC
LIMIT :limit
)
UNION ALL
-- Where to walk on from when the page ended at the window (see `route`): the window's last
-- blog, in the id and created_at columns of a row that is no blog.
SELECT true, w.id, NULL, NULL, NULL, NULL, NULL, w.created_at, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL
FROM walked AS w
WHERE w.last AND (SELECT needed AND NOT by_index FROM route)
