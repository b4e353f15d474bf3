-- One author's page of blogs matching a search query, newest first: blogs_search.sql's two
-- steps (_parts/search_steps.sql), walking the author's own index
-- (ix_blogs_user_id_created_at_id) in step 1. An author with fewer blogs than the window is
-- walked to the end in step 1, so step 2 never runs: the cost is a walk of the author's blogs,
-- whatever the words and the statistics. For a more prolific author, step 2 and its `resume`
-- row are as in blogs_search.sql, step 2 reading the author's matches only.
-- read-only: yes
-- plan: custom
WITH reader AS (
    SELECT id FROM users WHERE id = :reader_id AND token_version = :reader_version
), newest AS (
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
),
-- include: search_steps
