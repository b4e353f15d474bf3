-- purpose: Trim names and titles, trim and lower-case emails; skip and list what cannot be fixed.
-- read-only: no
-- live: yes
-- transaction: yes
--
-- Repairs what data_check.sql reports, in one transaction: try it with --dry-run first. Skipped,
-- and listed by the last statement for a person to decide: a name or title that would be empty
-- once trimmed, and an email that, trimmed and lower-cased, would be another user's (or empty).
-- blogs.updated_at is left alone: what readers see does not change. A user signing up with one
-- of the fixed emails at the same moment makes the run fail and roll back: run it again.
-- The E'...' string lists the Unicode White_Space characters the API trims.

-- Trim user names
WITH ws (chars) AS (
    VALUES (E'\t\n\x0B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
)
UPDATE users AS u
SET name = btrim(old.name, ws.chars)
FROM ws, users AS old
WHERE old.id = u.id
  AND old.name <> btrim(old.name, ws.chars)
  AND btrim(old.name, ws.chars) <> ''
RETURNING u.id, quote_literal(old.name) AS old, quote_literal(u.name) AS new;

-- Trim and lower-case emails that clash with no other user's
WITH ws (chars) AS (
    VALUES (E'\t\n\x0B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
), wanted AS (
    SELECT users.id, users.email, lower(btrim(users.email, ws.chars)) AS fixed
    FROM users, ws
), clashes AS (
    SELECT fixed FROM wanted GROUP BY fixed HAVING count(*) > 1
)
UPDATE users AS u
SET email = w.fixed
FROM wanted AS w
WHERE w.id = u.id
  AND w.email <> w.fixed
  AND w.fixed <> ''
  AND w.fixed NOT IN (SELECT fixed FROM clashes)
RETURNING u.id, quote_literal(w.email) AS old, quote_literal(u.email) AS new;

-- Trim blog titles
WITH ws (chars) AS (
    VALUES (E'\t\n\x0B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
)
UPDATE blogs AS b
SET title = btrim(old.title, ws.chars)
FROM ws, blogs AS old
WHERE old.id = b.id
  AND old.title <> btrim(old.title, ws.chars)
  AND btrim(old.title, ws.chars) <> ''
RETURNING b.id, quote_literal(old.title) AS old, quote_literal(b.title) AS new;

-- Skipped: left for a person
WITH ws (chars) AS (
    VALUES (E'\t\n\x0B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
)
SELECT 'users' AS table, u.id, 'name' AS column, quote_literal(u.name) AS value,
       'empty once trimmed' AS reason
FROM users AS u, ws
WHERE u.name <> btrim(u.name, ws.chars)
UNION ALL
SELECT 'users', u.id, 'email', quote_literal(u.email),
       CASE
           WHEN btrim(u.email, ws.chars) = '' THEN 'empty once trimmed'
           ELSE 'trimmed and lower-cased it would clash with user ' || (
               SELECT string_agg(o.id::text, ', ' ORDER BY o.id)
               FROM users AS o
               WHERE o.id <> u.id
                 AND lower(btrim(o.email, ws.chars)) = lower(btrim(u.email, ws.chars))
           )
       END
FROM users AS u, ws
WHERE u.email <> lower(btrim(u.email, ws.chars))
UNION ALL
SELECT 'blogs', b.id, 'title', quote_literal(b.title), 'empty once trimmed'
FROM blogs AS b, ws
WHERE b.title <> btrim(b.title, ws.chars)
ORDER BY 1 DESC, 2, 3;
