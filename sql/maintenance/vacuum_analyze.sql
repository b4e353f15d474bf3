-- purpose: VACUUM (ANALYZE) our tables: make dead rows' space reusable, refresh planner statistics.
-- read-only: no
-- live: yes
-- transaction: no
-- param: table table = all  -- one of our tables, or all of them
--
-- Plain VACUUM takes a lock that lets reads and writes go on; it cannot run in a transaction.
-- A big table may need more than the default statement timeout: --statement-timeout 30min.

-- Vacuum and analyze
VACUUM (ANALYZE) :"table";
