-- transaction: no
-- Usernames and slugs for users and blogs written before 0009 (rows written since have them from
-- the triggers), derived as the triggers do, 5,000 ids per transaction so no row stays locked
-- for long on a live table.
DO $$
DECLARE
    batch_start bigint;
    last_id     bigint;
BEGIN
    batch_start := 0;
    SELECT coalesce(max(id), 0) INTO last_id FROM users;
    WHILE batch_start < last_id LOOP
        UPDATE users
        SET username = rtrim(left(slugify(name, 'user'), 20), '-') || '.' || id
        WHERE id > batch_start AND id <= batch_start + 5000 AND username IS NULL;
        batch_start := batch_start + 5000;
        COMMIT;
    END LOOP;

    batch_start := 0;
    SELECT coalesce(max(id), 0) INTO last_id FROM blogs;
    WHILE batch_start < last_id LOOP
        UPDATE blogs
        SET slug = slugify(title, 'blog') || '-' || id
        WHERE id > batch_start AND id <= batch_start + 5000 AND slug IS NULL;
        batch_start := batch_start + 5000;
        COMMIT;
    END LOOP;
END
$$;
