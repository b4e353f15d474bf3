-- What anonymous reads show, announced on the channel `read_cache` whenever it changes, so each
-- worker's response cache (service/api/middleware/read_cache.py) drops exactly the pages that
-- show it. NOTIFY inside the writing transaction is delivered on commit, and only if it commits.
--
-- A payload is keys separated by spaces:
--   b:<id>   GET /blogs/{id}                 s:<slug>  GET /api/articles/{slug}
--   c:<id>   GET /blogs/{id}/comments        k:<slug>  GET /api/articles/{slug}/comments
--   L        every list (blogs, a user's blogs, tag and search pages, articles, tags)
--   *        everything
-- Triggers are per statement with transition tables, so a bulk statement (COPY, a cascade
-- delete) sends one notification, or `*` past 100 blogs or 7,900 bytes (NOTIFY takes 8,000).
-- They are ENABLE ALWAYS: they fire under session_replication_role = replica too (the seed
-- copies links that way to skip the counting triggers).
-- follows is left out: an anonymous reader is never shown who follows whom. The counters of
-- 0016 (articlesCount under /api) announce the lists when they change, whoever changes them
-- (sql/maintenance/counters_repair.sql, say).

CREATE FUNCTION read_cache_notify(keys text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    IF keys IS NULL OR cardinality(keys) = 0 THEN
        RETURN;
    END IF;
    IF '*' = ANY (keys) THEN
        payload := '*';
    ELSE
        payload := array_to_string(ARRAY(SELECT DISTINCT k FROM unnest(keys) AS k ORDER BY k), ' ');
        IF octet_length(payload) > 7900 THEN
            payload := '*';
        END IF;
    END IF;
    PERFORM pg_notify('read_cache', payload);
END;
$$;

-- The keys of some blogs' pages. A slug outside the slugs blogs_slug() makes could hold a space;
-- such a blog invalidates everything rather than be misread.
CREATE FUNCTION read_cache_blog_keys(ids bigint[], slugs text[], id_prefix text, slug_prefix text)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(
        SELECT id_prefix || id FROM unnest(ids) AS id
        UNION ALL
        SELECT CASE WHEN slug ~ '^[a-z0-9-]+$' THEN slug_prefix || slug ELSE '*' END
        FROM unnest(slugs) AS slug
        WHERE slug IS NOT NULL
    )
$$;

-- Links of blogs (tags, favorites) and comments: the blogs they touch, by id (at most 101, which
-- already means `*`), with their slugs from blogs (a blog deleted by the same statement has none
-- left, and its own trigger names it).
CREATE FUNCTION read_cache_linked_blogs(ids bigint[], id_prefix text, slug_prefix text, lists boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;  -- a statement that changed no row still fires its statement triggers
    ELSIF cardinality(ids) > 100 THEN
        PERFORM read_cache_notify('{*}');
        RETURN;
    END IF;
    PERFORM read_cache_notify(
        read_cache_blog_keys(
            ids, ARRAY(SELECT slug FROM blogs WHERE id = ANY (ids)), id_prefix, slug_prefix
        ) || CASE WHEN lists THEN '{L}'::text[] ELSE '{}'::text[] END
    );
END;
$$;

CREATE FUNCTION read_cache_blogs_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    slugs text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- A new blog was on no page yet but the lists.
        IF EXISTS (SELECT FROM new_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(id), array_agg(old_slug) || array_agg(new_slug) INTO ids, slugs
        FROM (
            SELECT coalesce(o.id, n.id) AS id, o.slug AS old_slug, n.slug AS new_slug
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
            PERFORM read_cache_notify(read_cache_blog_keys(ids, slugs, 'b:', 's:') || '{L}'::text[]);
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

-- blog_tags and favorites: the blogs' cards, and the lists (tag pages, favorited-by lists, /tags).
CREATE FUNCTION read_cache_blog_links_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT DISTINCT blog_id FROM new_rows LIMIT 101), 'b:', 's:', true
        );
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT DISTINCT blog_id FROM old_rows LIMIT 101), 'b:', 's:', true
        );
    ELSE
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT blog_id FROM new_rows UNION SELECT blog_id FROM old_rows LIMIT 101),
            'b:', 's:', true
        );
    END IF;
    RETURN NULL;
END;
$$;

-- comments: the blogs' comment pages (no card shows a comment count).
CREATE FUNCTION read_cache_comments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT DISTINCT blog_id FROM new_rows LIMIT 101), 'c:', 'k:', false
        );
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT DISTINCT blog_id FROM old_rows LIMIT 101), 'c:', 'k:', false
        );
    ELSE
        PERFORM read_cache_linked_blogs(
            ARRAY(SELECT blog_id FROM new_rows UNION SELECT blog_id FROM old_rows LIMIT 101),
            'c:', 'k:', false
        );
    END IF;
    RETURN NULL;
END;
$$;

-- users: a profile is shown on every card and comment of its user, so a change to what it shows
-- (or a deletion) drops everything. Rare, and never missed; token or password changes show
-- nothing and send nothing.
CREATE FUNCTION read_cache_users_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM read_cache_notify('{*}');
    ELSIF EXISTS (
        SELECT FROM old_rows AS o
        FULL JOIN new_rows AS n ON n.id = o.id
        WHERE (o.id, o.name, o.username, o.bio, o.image, o.created_at)
              IS DISTINCT FROM (n.id, n.name, n.username, n.bio, n.image, n.created_at)
    ) THEN
        PERFORM read_cache_notify('{*}');
    END IF;
    RETURN NULL;
END;
$$;

-- tags: /tags and the tag pages; a renamed tag is on cards too.
CREATE FUNCTION read_cache_tags_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT FROM new_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT FROM old_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
    ELSIF EXISTS (
        SELECT FROM old_rows AS o
        FULL JOIN new_rows AS n ON n.id = o.id
        WHERE (o.id, o.name) IS DISTINCT FROM (n.id, n.name)
    ) THEN
        PERFORM read_cache_notify('{*}');
    ELSIF EXISTS (SELECT FROM new_rows) THEN
        PERFORM read_cache_notify('{L}');
    END IF;
    RETURN NULL;
END;
$$;

-- The counters: the lists' counts.
CREATE FUNCTION read_cache_counts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT FROM old_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
    ELSIF EXISTS (SELECT FROM new_rows) THEN
        PERFORM read_cache_notify('{L}');
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION read_cache_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM read_cache_notify('{*}');
    RETURN NULL;
END;
$$;

CREATE TRIGGER tg_blogs_read_cache_insert AFTER INSERT ON blogs
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blogs_changed();
CREATE TRIGGER tg_blogs_read_cache_update AFTER UPDATE ON blogs
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blogs_changed();
CREATE TRIGGER tg_blogs_read_cache_delete AFTER DELETE ON blogs
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blogs_changed();
CREATE TRIGGER tg_blogs_read_cache_truncate AFTER TRUNCATE ON blogs
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_blog_tags_read_cache_insert AFTER INSERT ON blog_tags
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_blog_tags_read_cache_update AFTER UPDATE ON blog_tags
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_blog_tags_read_cache_delete AFTER DELETE ON blog_tags
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_blog_tags_read_cache_truncate AFTER TRUNCATE ON blog_tags
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_favorites_read_cache_insert AFTER INSERT ON favorites
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_favorites_read_cache_update AFTER UPDATE ON favorites
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_favorites_read_cache_delete AFTER DELETE ON favorites
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE TRIGGER tg_favorites_read_cache_truncate AFTER TRUNCATE ON favorites
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_comments_read_cache_insert AFTER INSERT ON comments
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_comments_changed();
CREATE TRIGGER tg_comments_read_cache_update AFTER UPDATE ON comments
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_comments_changed();
CREATE TRIGGER tg_comments_read_cache_delete AFTER DELETE ON comments
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_comments_changed();
CREATE TRIGGER tg_comments_read_cache_truncate AFTER TRUNCATE ON comments
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_users_read_cache_update AFTER UPDATE ON users
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_users_changed();
CREATE TRIGGER tg_users_read_cache_delete AFTER DELETE ON users
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_users_changed();
CREATE TRIGGER tg_users_read_cache_truncate AFTER TRUNCATE ON users
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_tags_read_cache_insert AFTER INSERT ON tags
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_tags_changed();
CREATE TRIGGER tg_tags_read_cache_update AFTER UPDATE ON tags
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_tags_changed();
CREATE TRIGGER tg_tags_read_cache_delete AFTER DELETE ON tags
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_tags_changed();
CREATE TRIGGER tg_tags_read_cache_truncate AFTER TRUNCATE ON tags
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

CREATE TRIGGER tg_blog_count_slots_read_cache_insert AFTER INSERT ON blog_count_slots
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_blog_count_slots_read_cache_update AFTER UPDATE ON blog_count_slots
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_blog_count_slots_read_cache_delete AFTER DELETE ON blog_count_slots
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_blog_count_slots_read_cache_truncate AFTER TRUNCATE ON blog_count_slots
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();
CREATE TRIGGER tg_user_blog_counts_read_cache_insert AFTER INSERT ON user_blog_counts
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_blog_counts_read_cache_update AFTER UPDATE ON user_blog_counts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_blog_counts_read_cache_delete AFTER DELETE ON user_blog_counts
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_blog_counts_read_cache_truncate AFTER TRUNCATE ON user_blog_counts
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();
CREATE TRIGGER tg_user_favorite_counts_read_cache_insert AFTER INSERT ON user_favorite_counts
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_favorite_counts_read_cache_update AFTER UPDATE ON user_favorite_counts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_favorite_counts_read_cache_delete AFTER DELETE ON user_favorite_counts
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_counts_changed();
CREATE TRIGGER tg_user_favorite_counts_read_cache_truncate AFTER TRUNCATE ON user_favorite_counts
FOR EACH STATEMENT EXECUTE FUNCTION read_cache_truncated();

ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_insert;
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_update;
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_delete;
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_truncate;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_insert;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_update;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_delete;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_truncate;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_insert;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_update;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_delete;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_truncate;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_insert;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_update;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_delete;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_truncate;
ALTER TABLE users ENABLE ALWAYS TRIGGER tg_users_read_cache_update;
ALTER TABLE users ENABLE ALWAYS TRIGGER tg_users_read_cache_delete;
ALTER TABLE users ENABLE ALWAYS TRIGGER tg_users_read_cache_truncate;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_insert;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_update;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_delete;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_truncate;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_insert;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_update;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_delete;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_truncate;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_insert;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_update;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_delete;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_truncate;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_insert;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_update;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_delete;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_truncate;
