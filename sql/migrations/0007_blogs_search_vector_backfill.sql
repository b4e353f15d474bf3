-- transaction: no
-- Fill search_vector for blogs written before 0006, 5,000 ids per transaction, so no row stays
-- locked for long on a live table. Rows written meanwhile already have it (the trigger).
DO $$
DECLARE
    batch_start bigint := 0;
    last_id     bigint;
BEGIN
    SELECT coalesce(max(id), 0) INTO last_id FROM blogs;
    WHILE batch_start < last_id LOOP
        UPDATE blogs
        SET search_vector = to_tsvector(
            coalesce(nullif(current_setting('blog_api.search_config', true), ''), 'simple')::regconfig,
            title || ' ' || body
        )
        WHERE id > batch_start AND id <= batch_start + 5000 AND search_vector IS NULL;
        batch_start := batch_start + 5000;
        COMMIT;
    END LOOP;
END
$$;
