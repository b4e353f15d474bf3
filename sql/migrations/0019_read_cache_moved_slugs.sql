-- A blog whose slug changes (in SQL: the API never changes one) also announces its comment pages
-- under the old and the new slug. 0017 announced only its own pages (`b:`, `s:`), so
-- GET /api/articles/<old slug>/comments kept answering 200 from the cache after the blog had
-- left that slug. The rest of the function is 0017's.

CREATE OR REPLACE FUNCTION read_cache_blogs_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    slugs text[];
    moved_ids bigint[];
    moved_slugs text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new blog was on no page yet but the lists.
        IF EXISTS (SELECT FROM new_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(id), array_agg(old_slug) || array_agg(new_slug),
               coalesce(array_agg(id) FILTER (WHERE moved), '{}'),
               coalesce(array_agg(old_slug) FILTER (WHERE moved), '{}')
               || coalesce(array_agg(new_slug) FILTER (WHERE moved), '{}')
        INTO ids, slugs, moved_ids, moved_slugs
        FROM (
            -- A row whose id changed has no partner: its old and new ids are both "moved".
            SELECT coalesce(o.id, n.id) AS id, o.slug AS old_slug, n.slug AS new_slug,
                   (o.id IS NULL OR n.id IS NULL OR o.slug IS DISTINCT FROM n.slug) AS moved
            FROM old_rows AS o
            FULL JOIN new_rows AS n ON n.id = o.id
            WHERE (o.user_id, o.title, o.body, o.description, o.slug, o.created_at, o.updated_at,
                   o.favorites_count)
                  IS DISTINCT FROM
                  (n.user_id, n.title, n.body, n.description, n.slug, n.created_at, n.updated_at,
                   n.favorites_count)
            LIMIT 101
        ) AS changed;
        IF ids IS NULL THEN
            RETURN NULL;  -- nothing shown changed (the search vector, say)
        END IF;
        IF cardinality(ids) > 100 THEN
            PERFORM read_cache_notify('{*}');
        ELSE
            PERFORM read_cache_notify(
                read_cache_blog_keys(ids, slugs, 'b:', 's:')
                || read_cache_blog_keys(moved_ids, moved_slugs, 'c:', 'k:')
                || '{L}'::text[]
            );
        END IF;
    ELSE
        SELECT array_agg(id), array_agg(slug) INTO ids, slugs
        FROM (SELECT id, slug FROM old_rows LIMIT 101) AS gone;
        IF ids IS NULL THEN
            RETURN NULL;
        ELSIF cardinality(ids) > 100 THEN
            PERFORM read_cache_notify('{*}');
        ELSE
            PERFORM read_cache_notify(
                read_cache_blog_keys(ids, slugs, 'b:', 's:')
                || read_cache_blog_keys(ids, slugs, 'c:', 'k:')
                || '{L}'::text[]
            );
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
