-- The checks 0009 added NOT VALID, now that 0010 has filled every row: validating takes a SHARE
-- UPDATE EXCLUSIVE lock, so reads and writes go on meanwhile.
ALTER TABLE users VALIDATE CONSTRAINT ck_users_username_present;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_username_format;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_bio_length;
ALTER TABLE users VALIDATE CONSTRAINT ck_users_image_length;
ALTER TABLE blogs VALIDATE CONSTRAINT ck_blogs_slug_present;
ALTER TABLE blogs VALIDATE CONSTRAINT ck_blogs_description_length;
ALTER TABLE blogs VALIDATE CONSTRAINT ck_blogs_favorites_count_positive;
