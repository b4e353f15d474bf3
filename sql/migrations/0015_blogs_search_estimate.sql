-- How many blogs PostgreSQL's statistics say match a search: the planner's own row estimate
-- for the full-text condition, planned for these words. sql/queries/blogs_search*.sql consult it
-- before fetching every match through the GIN index, which costs about one heap recheck per
-- blog holding the words: a phrase of two common words that are rarely next to each other has
-- few matches but hundreds of thousands of candidates, and is read a window at a time instead.
CREATE FUNCTION blogs_search_estimate(config regconfig, query text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE format(
        'EXPLAIN (FORMAT JSON) SELECT 1 FROM blogs WHERE search_vector @@ websearch_to_tsquery(%L::regconfig, %L)',
        config, query
    ) INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric::bigint;
END
$$;
