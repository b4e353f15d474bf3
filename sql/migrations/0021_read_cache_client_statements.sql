-- Only the statements a client sends announce what they change: the read-cache triggers of 0017
-- fire at trigger depth 0, not for what other triggers write in a statement's wake. Everything
-- such triggers write is already announced by the statement that caused it:
--   the counters (tags.blog_count, blogs.favorites_count, blog_count_slots, user_blog_counts,
--   user_favorite_counts), kept by triggers on blogs, blog_tags and favorites, whose own
--   announcements name the same blogs and the lists;
--   the rows ON DELETE CASCADE removes: a deleted blog announces its pages and the lists, a
--   deleted user or tag announces everything.
-- Announcing them again cost a blog's deletion seven more trigger calls (most of them while it
-- held the rows of its tags' counts, which every deletion of a blog with those tags waits for).
-- A trigger added later that writes these tables announces nothing by itself: it calls
-- read_cache_notify() (docs/extending.md).
--
-- A tag deleted while blogs carry it is taken off their cards by the cascade, which no longer
-- announces them: a deleted tag now announces everything (0017: the lists). The service never
-- deletes a tag; an operator does, rarely.

CREATE OR REPLACE FUNCTION read_cache_tags_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT FROM new_rows) THEN
            PERFORM read_cache_notify('{L}');
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT FROM old_rows) THEN
            PERFORM read_cache_notify('{*}');
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


CREATE OR REPLACE TRIGGER tg_blogs_read_cache_insert AFTER INSERT ON blogs
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blogs_changed();
CREATE OR REPLACE TRIGGER tg_blogs_read_cache_update AFTER UPDATE ON blogs
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blogs_changed();
CREATE OR REPLACE TRIGGER tg_blogs_read_cache_delete AFTER DELETE ON blogs
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blogs_changed();
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_insert;
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_update;
ALTER TABLE blogs ENABLE ALWAYS TRIGGER tg_blogs_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_blog_tags_read_cache_insert AFTER INSERT ON blog_tags
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE OR REPLACE TRIGGER tg_blog_tags_read_cache_update AFTER UPDATE ON blog_tags
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE OR REPLACE TRIGGER tg_blog_tags_read_cache_delete AFTER DELETE ON blog_tags
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_insert;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_update;
ALTER TABLE blog_tags ENABLE ALWAYS TRIGGER tg_blog_tags_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_favorites_read_cache_insert AFTER INSERT ON favorites
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE OR REPLACE TRIGGER tg_favorites_read_cache_update AFTER UPDATE ON favorites
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
CREATE OR REPLACE TRIGGER tg_favorites_read_cache_delete AFTER DELETE ON favorites
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_blog_links_changed();
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_insert;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_update;
ALTER TABLE favorites ENABLE ALWAYS TRIGGER tg_favorites_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_comments_read_cache_insert AFTER INSERT ON comments
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_comments_changed();
CREATE OR REPLACE TRIGGER tg_comments_read_cache_update AFTER UPDATE ON comments
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_comments_changed();
CREATE OR REPLACE TRIGGER tg_comments_read_cache_delete AFTER DELETE ON comments
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_comments_changed();
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_insert;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_update;
ALTER TABLE comments ENABLE ALWAYS TRIGGER tg_comments_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_users_read_cache_update AFTER UPDATE ON users
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_users_changed();
CREATE OR REPLACE TRIGGER tg_users_read_cache_delete AFTER DELETE ON users
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_users_changed();
ALTER TABLE users ENABLE ALWAYS TRIGGER tg_users_read_cache_update;
ALTER TABLE users ENABLE ALWAYS TRIGGER tg_users_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_tags_read_cache_insert AFTER INSERT ON tags
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_tags_changed();
CREATE OR REPLACE TRIGGER tg_tags_read_cache_update AFTER UPDATE ON tags
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_tags_changed();
CREATE OR REPLACE TRIGGER tg_tags_read_cache_delete AFTER DELETE ON tags
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_tags_changed();
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_insert;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_update;
ALTER TABLE tags ENABLE ALWAYS TRIGGER tg_tags_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_blog_count_slots_read_cache_insert AFTER INSERT ON blog_count_slots
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_blog_count_slots_read_cache_update AFTER UPDATE ON blog_count_slots
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_blog_count_slots_read_cache_delete AFTER DELETE ON blog_count_slots
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_insert;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_update;
ALTER TABLE blog_count_slots ENABLE ALWAYS TRIGGER tg_blog_count_slots_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_user_blog_counts_read_cache_insert AFTER INSERT ON user_blog_counts
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_user_blog_counts_read_cache_update AFTER UPDATE ON user_blog_counts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_user_blog_counts_read_cache_delete AFTER DELETE ON user_blog_counts
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_insert;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_update;
ALTER TABLE user_blog_counts ENABLE ALWAYS TRIGGER tg_user_blog_counts_read_cache_delete;

CREATE OR REPLACE TRIGGER tg_user_favorite_counts_read_cache_insert AFTER INSERT ON user_favorite_counts
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_user_favorite_counts_read_cache_update AFTER UPDATE ON user_favorite_counts
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
CREATE OR REPLACE TRIGGER tg_user_favorite_counts_read_cache_delete AFTER DELETE ON user_favorite_counts
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT WHEN (pg_trigger_depth() = 0)
EXECUTE FUNCTION read_cache_counts_changed();
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_insert;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_update;
ALTER TABLE user_favorite_counts ENABLE ALWAYS TRIGGER tg_user_favorite_counts_read_cache_delete;
