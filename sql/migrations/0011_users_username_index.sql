-- transaction: no
-- Usernames are unique in any letter case (profiles are found by username); built without
-- blocking writes.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_username_lower ON users (lower(username));
