-- transaction: no
-- Blogs are found by slug; built without blocking writes.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_blogs_slug ON blogs (slug);
