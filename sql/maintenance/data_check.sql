-- purpose: Rows that break the rules the API enforces but the database does not.
-- read-only: yes
-- live: yes
-- transaction: yes
--
-- The API stores names and titles trimmed, and emails trimmed and lower-cased; the database
-- only checks lengths after trimming spaces. Rows written outside the API can break the rest.
-- "Trimmed" means no leading or trailing Unicode White_Space, as the API trims: the E'...'
-- string below lists those characters; they are also what the API's email pattern calls space.
-- data_fix.sql repairs what can be repaired.

-- Problems, one row each
WITH ws (chars) AS (
    VALUES (E'\t\n\x0B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000')
), problems AS (
    SELECT 'users' AS table, u.id, 'name' AS column, 'not trimmed' AS problem, u.name AS value
    FROM users AS u, ws
    WHERE u.name <> btrim(u.name, ws.chars)
    UNION ALL
    SELECT 'users', u.id, 'name', 'empty once trimmed', u.name
    FROM users AS u, ws
    WHERE btrim(u.name, ws.chars) = ''
    UNION ALL
    SELECT 'users', u.id, 'name', 'longer than 100 characters once trimmed', u.name
    FROM users AS u, ws
    WHERE char_length(btrim(u.name, ws.chars)) > 100
    UNION ALL
    SELECT 'users', u.id, 'email', 'not trimmed', u.email
    FROM users AS u, ws
    WHERE u.email <> btrim(u.email, ws.chars)
    UNION ALL
    SELECT 'users', u.id, 'email', 'not lower-case', u.email
    FROM users AS u
    WHERE u.email <> lower(u.email)
    UNION ALL
    SELECT 'users', u.id, 'email', 'not an email address', u.email
    FROM users AS u, ws
    WHERE btrim(u.email, ws.chars) !~ ('^[^@' || ws.chars || ']+@[^@' || ws.chars || ']+$')
       OR char_length(btrim(u.email, ws.chars)) NOT BETWEEN 3 AND 254
    UNION ALL
    SELECT 'users', u.id, 'email',
           'trimmed and lower-cased it is the email of user '
           || string_agg(o.id::text, ', ' ORDER BY o.id),
           u.email
    FROM users AS u
    CROSS JOIN ws
    JOIN users AS o
      ON o.id <> u.id AND lower(btrim(o.email, ws.chars)) = lower(btrim(u.email, ws.chars))
    WHERE u.email <> lower(btrim(u.email, ws.chars))
    GROUP BY u.id, u.email
    UNION ALL
    SELECT 'blogs', b.id, 'title', 'not trimmed', b.title
    FROM blogs AS b, ws
    WHERE b.title <> btrim(b.title, ws.chars)
    UNION ALL
    SELECT 'blogs', b.id, 'title', 'empty once trimmed', b.title
    FROM blogs AS b, ws
    WHERE btrim(b.title, ws.chars) = ''
    UNION ALL
    SELECT 'blogs', b.id, 'title', 'longer than 200 characters once trimmed', b.title
    FROM blogs AS b, ws
    WHERE char_length(btrim(b.title, ws.chars)) > 200
    UNION ALL
    -- octet_length() does not read a TOASTed body; char_length() is needed only past 100000 bytes.
    SELECT 'blogs', b.id, 'body', 'empty or longer than 100000 characters',
           left(b.body, 100) || CASE WHEN octet_length(b.body) > 100 THEN '...' ELSE '' END
    FROM blogs AS b
    WHERE octet_length(b.body) = 0
       OR octet_length(b.body) > 100000 AND char_length(b.body) > 100000
)
SELECT p.table, p.id, p.column, p.problem, quote_literal(p.value) AS value
FROM problems AS p
ORDER BY p.table DESC, p.id, p.column, p.problem;
