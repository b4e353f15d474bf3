-- A user as anyone may see them, with whether the reader follows them, as a select list. The
-- statement that includes it reads a users row as `u` and has a CTE `reader` (the reader's id,
-- or no row): a primary-key probe in follows per user, none for an anonymous reader.
u.id,
u.name,
u.username,
u.bio,
u.image,
u.created_at,
EXISTS (
    SELECT 1 FROM follows AS f, reader AS r WHERE f.follower_id = r.id AND f.followed_id = u.id
) AS following
