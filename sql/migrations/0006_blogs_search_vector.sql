-- Full-text search over title and body. The vector is a column kept by a trigger rather than a
-- stored generated column: adding a generated column rewrites the whole table under an ACCESS
-- EXCLUSIVE lock, while a nullable column is a catalog change. 0007 fills the existing rows in
-- small transactions and 0008 indexes it without blocking writes.
--
-- The text search configuration is the session's `blog_api.search_config` (the service sets it
-- from SEARCH_CONFIG), `simple` when unset: no language is assumed.
ALTER TABLE blogs ADD COLUMN search_vector tsvector;

CREATE FUNCTION blogs_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := to_tsvector(
        coalesce(nullif(current_setting('blog_api.search_config', true), ''), 'simple')::regconfig,
        NEW.title || ' ' || NEW.body
    );
    RETURN NEW;
END
$$;

CREATE TRIGGER tg_blogs_search_vector
BEFORE INSERT OR UPDATE OF title, body ON blogs
FOR EACH ROW EXECUTE FUNCTION blogs_search_vector();
