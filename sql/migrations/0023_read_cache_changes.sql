-- Writers queue what they changed in a table; the listeners announce it, instead of each writing
-- transaction sending NOTIFY itself.
--
-- PostgreSQL keeps notifications in commit order by a lock every notifying transaction takes
-- before its commit and holds until the commit is on disk: announcing commits could not share a
-- flush, and each waited for the one before it. 32 connections inserting blogs: 1,120
-- transactions a second with NOTIFY in each, 2,690 without (pgbench, this machine's 2 cores).
--
-- Now read_cache_notify() inserts its payload into read_cache_changes, in the writing
-- transaction: the row is seen once and only if the transaction commits, as the notification
-- was. Every worker's listener (service/db/invalidations.py) calls read_cache_announce() every
-- READ_CACHE_ANNOUNCE_SECONDS (0.01): it takes the committed rows (those another listener is
-- taking are skipped), sends their keys on `read_cache` in as few notifications as fit, and
-- deletes them, in one transaction. A change reaches every worker within an interval plus the
-- delivery, as long as any worker runs; a worker whose own listener cannot announce stops using
-- its cache, as when it cannot listen.
--
-- UNLOGGED: the queue writes no WAL, so it costs a writer no more than a row in memory and
-- a listener's commit waits for no flush. After a crash, or on a promoted replica, the table
-- starts empty: every listener lost its connection then, and a worker empties its cache
-- whenever it listens again, so nothing it held is left unannounced.

CREATE UNLOGGED TABLE read_cache_changes (
    payload text NOT NULL
)
-- Deleted as fast as it is written: vacuumed after a hundred dead rows instead of a fifth of a
-- table that is always nearly empty.
WITH (autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0);

CREATE OR REPLACE FUNCTION read_cache_notify(keys text[]) RETURNS void
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
    INSERT INTO read_cache_changes (payload) VALUES (payload);
END;
$$;

-- Announce up to `batch` queued changes: their distinct keys on `read_cache`, each notification
-- at most 7,900 bytes (NOTIFY takes 8,000), or `*` alone if one of them was `*`. Returns how many
-- notifications it sent.
CREATE FUNCTION read_cache_announce(batch integer DEFAULT 10000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    announced text[];
    message text := '';
    key text;
    sent integer := 0;
BEGIN
    WITH taken AS (
        DELETE FROM read_cache_changes
        WHERE ctid = ANY (ARRAY(
            SELECT q.ctid FROM read_cache_changes AS q LIMIT batch FOR UPDATE SKIP LOCKED
        ))
        RETURNING read_cache_changes.payload
    )
    SELECT array_agg(DISTINCT k) INTO announced
    FROM taken, unnest(string_to_array(taken.payload, ' ')) AS k;
    IF announced IS NULL THEN
        RETURN 0;
    END IF;
    IF '*' = ANY (announced) THEN
        PERFORM pg_notify('read_cache', '*');
        RETURN 1;
    END IF;
    FOREACH key IN ARRAY announced LOOP
        IF message = '' THEN
            message := key;
        ELSIF octet_length(message) + 1 + octet_length(key) > 7900 THEN
            PERFORM pg_notify('read_cache', message);
            sent := sent + 1;
            message := key;
        ELSE
            message := message || ' ' || key;
        END IF;
    END LOOP;
    PERFORM pg_notify('read_cache', message);
    RETURN sent + 1;
END;
$$;
