-- One author's page of blogs matching a search query, newest first; see blogs_search.sql.
-- An author's blogs are few next to all of them: their newest-first walk
-- (ix_blogs_user_id_created_at_id) with the match as a filter, or the GIN index for rare words.
-- params: author_id, config, query, before_created_at, before_id, limit
-- read-only: yes
-- plan: custom
SELECT b.id,
       b.title,
       b.body,
       b.created_at,
       b.updated_at,
       u.id   AS owner_id,
       u.name AS owner_name
FROM blogs AS b
JOIN users AS u ON u.id = b.user_id
WHERE b.user_id = $1
  AND b.search_vector @@ websearch_to_tsquery($2::regconfig, $3::text)
  AND (b.created_at, b.id) < ($4, $5)
ORDER BY b.created_at DESC, b.id DESC
LIMIT $6
