-- The count-and-page tail every articles_*.sql shares, after its CTEs `reader`, `walked` and
-- `known` (the file ends `known` with `),` and the include line). `known` is one row: `matched`,
-- the count a counter holds (sql/migrations/0016_counters.sql), or NULL where none does.
-- `walked` is the file's own walk of one index, newest first: at most `walk` rows (the cap on
-- the count plus one, or offset + limit when that is more) of (id, created_at). `matches`
-- numbers them newest first by a window over the walk's own order (no sort); the page is the
-- numbered rows after `offset`, read from blog_cards alone, and `matched` is the known count or
-- else counts `matches` (the caller caps that). Past the end, one row with a NULL id still carries the count. Rows come in no
-- order: the caller sorts the page (at most `limit` rows) by `n`, so no sort in the plan reaches
-- blogs.
matches AS (
    SELECT w.id, row_number() OVER (ORDER BY w.created_at DESC, w.id DESC) AS n
    FROM walked AS w
)
SELECT total.matched,
       page.n,
       -- No body: a RealWorld list shows none (spec 1.1.0), so each is read as ''.
       -- include: blog_card with body_chars = 0
FROM (
    SELECT coalesce((SELECT k.matched FROM known AS k), (SELECT count(*) FROM matches)) AS matched
) AS total
LEFT JOIN (
    matches AS page JOIN blog_cards AS c ON c.id = page.id
) ON page.n > :offset AND page.n <= :offset + :limit
