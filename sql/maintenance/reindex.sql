-- purpose: Rebuild one of our indexes, or all of them, without blocking writes (REINDEX CONCURRENTLY).
-- read-only: no
-- live: yes
-- transaction: no
-- param: index index = all  -- one of our indexes by name, or all of them
--
-- Each index is built anew beside the old one, then swapped in. It cannot run in a transaction.
-- A rebuild that fails (a timeout, a cancel) leaves an invalid index named <index>_ccnew behind:
-- drop it with DROP INDEX CONCURRENTLY before trying again. A big index may need more than the
-- default statement timeout: --statement-timeout 30min.

-- Rebuild
REINDEX INDEX CONCURRENTLY :"index";
