-- A page of blogs matching a web-search style query (`websearch_to_tsquery`: words, "quoted
-- phrases", `or`, `-word`), newest first, after the keyset (before_created_at, before_id).
-- Planned for each query's words (plan: custom), so PostgreSQL picks by how common they are:
-- for rare words, ix_blogs_search_vector (GIN) and a top-N sort of the few matches; for common
-- ones, the newest-first walk of ix_blogs_created_at_id, stopping after `limit` matches.
-- params: config, query, before_created_at, before_id, limit
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
WHERE b.search_vector @@ websearch_to_tsquery($1::regconfig, $2::text)
  AND (b.created_at, b.id) < ($3, $4)
ORDER BY b.created_at DESC, b.id DESC
LIMIT $5
