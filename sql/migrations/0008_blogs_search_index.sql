-- transaction: no
-- The GIN index for `q`; built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_blogs_search_vector ON blogs USING gin (search_vector);
