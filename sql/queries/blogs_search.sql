-- A page of blogs matching a web-search style query (`websearch_to_tsquery`: words, "quoted
-- phrases", `or`, `-word`), newest first, after the keyset (before_created_at, before_id).
--
-- Its cost is bounded whatever the words, without trusting the planner's guess of how common
-- they are (a word missing from the statistics is guessed at half the rarest known word's
-- frequency, which on a small vocabulary sends a search for gibberish on a walk of the whole
-- table):
-- 1. `newest` walks ix_blogs_created_at_id newest first through at most `window` blogs and
--    `walked` keeps the first `limit` matches. A common word fills the page within a few dozen
--    rows.
-- 2. Only if it fell short (the words are rare among recent blogs) and older blogs are left
--    (the walk reached the window's end): if the statistics say at most `index_max` blogs hold
--    the words (blogs_search_estimate, sql/migrations/0015), all matches are fetched through
--    the GIN index ix_blogs_search_vector and the newest `limit` of them sorted out; OFFSET 0
--    keeps the planner from turning that back into an index walk, and the keyset is applied
--    after it, so no bitmap of the whole created_at index is ANDed in. Otherwise (a phrase of
--    common words that are rarely next to each other: few matches, but a recheck for every
--    blog holding the words) the page is what the window held, and a last row with `resume`
--    set carries the window's last blog, where the next page walks on from.
-- Steps 1 and 2 after the walk, and the page: _parts/search_steps.sql, which
-- blogs_search_by_author.sql shares. Planned per call (plan: custom), so step 2 is planned for
-- the words actually searched.
-- read-only: yes
-- plan: custom
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), newest AS (
    SELECT id,
           created_at,
           search_vector @@ websearch_to_tsquery(:config::regconfig, :query::text) AS matches,
           row_number() OVER (ORDER BY created_at DESC, id DESC) AS step
    FROM blogs
    WHERE (created_at, id) < (:before_created_at, :before_id)
    ORDER BY created_at DESC, id DESC
    LIMIT :window
),
-- include: search_steps with author_id = NULL
