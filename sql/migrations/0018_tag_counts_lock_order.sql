-- The tag counters of 0016 lock tags in the order writers lock them: by name, in code point
-- order (COLLATE "C", which is also how service.blogs sorts the tags it upserts). In id order,
-- a blog written with tags whose names and ids run opposite ways (`alpha` made after `zulu`)
-- and a deletion unlinking the same tags could each hold one and wait for the other: a deadlock,
-- and one of the two writes failed.

CREATE OR REPLACE FUNCTION blog_tags_counts_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH added AS (
        SELECT tag_id AS id, count(*) AS n FROM new_links GROUP BY tag_id
    ), locked AS (
        SELECT t.id FROM tags AS t
        WHERE t.id IN (SELECT id FROM added)
        ORDER BY t.name COLLATE "C"
        FOR NO KEY UPDATE
    )
    UPDATE tags AS t
    SET blog_count = t.blog_count + added.n
    FROM added JOIN locked USING (id)
    WHERE t.id = added.id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION blog_tags_counts_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH removed AS (
        SELECT tag_id AS id, count(*) AS n FROM old_links GROUP BY tag_id
    ), locked AS (
        SELECT t.id FROM tags AS t
        WHERE t.id IN (SELECT id FROM removed)
        ORDER BY t.name COLLATE "C"
        FOR NO KEY UPDATE
    )
    UPDATE tags AS t
    SET blog_count = t.blog_count - removed.n
    FROM removed JOIN locked USING (id)
    WHERE t.id = removed.id;
    RETURN NULL;
END
$$;
