-- One author's page of blogs matching a search query, newest first: blogs_search.sql's two
-- steps, walking the author's own index (ix_blogs_user_id_created_at_id) in step 1. An author
-- with fewer blogs than the window is walked to the end in step 1, so step 2 never runs: the
-- cost is a walk of the author's blogs, whatever the words and the statistics. For a more
-- prolific author, step 2 and its `resume` row are as in blogs_search.sql.
-- read-only: yes
-- plan: custom
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), walked AS MATERIALIZED (
    SELECT newest.id, newest.created_at, newest.matches, newest.step = :window AS last
    FROM (
        SELECT id,
               created_at,
               search_vector @@ websearch_to_tsquery(:config::regconfig, :query::text) AS matches,
               row_number() OVER (ORDER BY user_id, created_at DESC, id DESC) AS step
        FROM blogs
        WHERE user_id = :author_id
          AND (created_at, id) < (:before_created_at, :before_id)
        -- user_id first: only the author's index gives this order, so the walk is never one of
        -- all blogs filtered by author (a plan the statistics sometimes made look cheaper).
        ORDER BY user_id, created_at DESC, id DESC
        LIMIT :window
    ) AS newest
    -- The matches, and the window's last blog: there, step 1 could not finish the page.
    WHERE newest.matches OR newest.step = :window
    LIMIT :limit
), further AS (
    SELECT count(*) FILTER (WHERE matches) < :limit AND coalesce(bool_or(last), false) AS needed
    FROM walked
), route AS (
    -- Through the GIN index only when the statistics say few blogs hold the words (the
    -- estimate is asked only when needed); otherwise the page ends at the window, with a
    -- cursor to walk on from there.
    SELECT needed, needed AND blogs_search_estimate(:config::regconfig, :query::text) <= :index_max AS by_index
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
              AND user_id = :author_id
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
       -- include: blog_card
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
