-- A page of blogs matching a web-search style query (`websearch_to_tsquery`: words, "quoted
-- phrases", `or`, `-word`), newest first, after the keyset (before_created_at, before_id).
--
-- Its cost is bounded whatever the words, without trusting the planner's guess of how common
-- they are (a word missing from the statistics is guessed at half the rarest known word's
-- frequency, which on a small vocabulary sends a search for gibberish on a walk of the whole
-- table):
-- 1. `walked` walks ix_blogs_created_at_id newest first through at most `window` blogs and
--    keeps the first `limit` matches. A common word fills the page within a few dozen rows.
-- 2. Only if it fell short (the words are rare among recent blogs) and older blogs are left
--    (the walk reached the window's end): if the statistics say at most `index_max` blogs hold
--    the words (blogs_search_estimate, sql/migrations/0015), all matches are fetched through
--    the GIN index ix_blogs_search_vector and the newest `limit` of them sorted out; OFFSET 0
--    keeps the planner from turning that back into an index walk, and the keyset is applied
--    after it, so no bitmap of the whole created_at index is ANDed in. Otherwise (a phrase of
--    common words that are rarely next to each other: few matches, but a recheck for every
--    blog holding the words) the page is what the window held, and a last row with `resume`
--    set carries the window's last blog, where the next page walks on from.
-- Planned per call (plan: custom), so step 2 is planned for the words actually searched.
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
               row_number() OVER (ORDER BY created_at DESC, id DESC) AS step
        FROM blogs
        WHERE (created_at, id) < (:before_created_at, :before_id)
        ORDER BY created_at DESC, id DESC
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
