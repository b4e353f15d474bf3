"""The schema as SQLAlchemy Core metadata.

`sql/migrations/` holds the same schema as plain SQL; tests/db/test_tables.py proves the two agree.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # Tokens carry it; a password change or deletion bumps it, ending every older token.
    sa.Column("token_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    # Filled by the trigger tg_users_username when not given (sql/migrations/0009_platform.sql);
    # NOT NULL by a check, which could be added to the live table without a scan under lock.
    sa.Column("username", sa.Text, nullable=True),
    sa.Column("bio", sa.Text, nullable=True),
    sa.Column("image", sa.Text, nullable=True),
    sa.CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
    sa.CheckConstraint("username IS NOT NULL", name="username_present"),
    sa.CheckConstraint("username ~ '^[A-Za-z0-9_.-]{1,40}$'", name="username_format"),
    sa.CheckConstraint("char_length(bio) <= 1000", name="bio_length"),
    sa.CheckConstraint("char_length(image) BETWEEN 1 AND 2000", name="image_length"),
)

# Emails are stored lower-cased; the unique index on lower(email) keeps them unique in any
# letter case even for rows written outside the API.
sa.Index("uq_users_email_lower", sa.func.lower(users.c.email), unique=True)
# Profiles are found by username, in any letter case.
sa.Index("uq_users_username_lower", sa.func.lower(users.c.username), unique=True)

blogs = sa.Table(
    "blogs",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column(
        "user_id",
        sa.BigInteger,
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    # Kept by the trigger tg_blogs_search_vector (sql/migrations/0006_blogs_search_vector.sql).
    sa.Column("search_vector", postgresql.TSVECTOR, nullable=True),
    # Made once from the title and id by the trigger tg_blogs_slug; NOT NULL by a check.
    sa.Column("slug", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''::text")),
    # Kept by the trigger tg_favorites_counts_insert and _delete.
    sa.Column("favorites_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("char_length(btrim(title)) BETWEEN 1 AND 200", name="title_length"),
    sa.CheckConstraint("char_length(body) BETWEEN 1 AND 100000", name="body_length"),
    sa.CheckConstraint("slug IS NOT NULL", name="slug_present"),
    sa.CheckConstraint("char_length(description) <= 1000", name="description_length"),
    sa.CheckConstraint("favorites_count >= 0", name="favorites_count_positive"),
)

# Keyset pages walk these in order: newest first overall, and newest first per author
# (the second also serves the ON DELETE CASCADE lookup by user_id).
sa.Index("ix_blogs_created_at_id", blogs.c.created_at.desc(), blogs.c.id.desc())
sa.Index(
    "ix_blogs_user_id_created_at_id",
    blogs.c.user_id,
    blogs.c.created_at.desc(),
    blogs.c.id.desc(),
)
sa.Index("ix_blogs_search_vector", blogs.c.search_vector, postgresql_using="gin")
sa.Index("uq_blogs_slug", blogs.c.slug, unique=True)

# Each tag once, with the number of blogs carrying it (kept by the triggers tg_blog_tags_counts_*):
# blog_count plus the tag's rows of tag_blog_counts.
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("blog_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.UniqueConstraint("name"),
    sa.CheckConstraint(
        "char_length(name) BETWEEN 1 AND 40 AND name = btrim(name) AND name !~ '[[:cntrl:],]'",
        name="name_format",
    ),
)
sa.Index("ix_tags_blog_count_name", tags.c.blog_count.desc(), tags.c.name)

# blog_created_at is the blog's (never changed), so a tag's blogs are walked newest first on
# one index; favorites likewise.
blog_tags = sa.Table(
    "blog_tags",
    metadata,
    sa.Column(
        "blog_id", sa.BigInteger, sa.ForeignKey(blogs.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "tag_id", sa.BigInteger, sa.ForeignKey(tags.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("blog_created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index(
    "ix_blog_tags_tag_id_blog_created_at_blog_id",
    blog_tags.c.tag_id,
    blog_tags.c.blog_created_at.desc(),
    blog_tags.c.blog_id.desc(),
)

favorites = sa.Table(
    "favorites",
    metadata,
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "blog_id", sa.BigInteger, sa.ForeignKey(blogs.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("blog_created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)
sa.Index(
    "ix_favorites_user_id_blog_created_at_blog_id",
    favorites.c.user_id,
    favorites.c.blog_created_at.desc(),
    favorites.c.blog_id.desc(),
)
sa.Index("ix_favorites_blog_id", favorites.c.blog_id)

follows = sa.Table(
    "follows",
    metadata,
    sa.Column(
        "follower_id",
        sa.BigInteger,
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "followed_id",
        sa.BigInteger,
        sa.ForeignKey(users.c.id, ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("follower_id <> followed_id", name="not_self"),
)
sa.Index("ix_follows_followed_id", follows.c.followed_id)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column(
        "blog_id", sa.BigInteger, sa.ForeignKey(blogs.c.id, ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey(users.c.id, ondelete="CASCADE"), nullable=False
    ),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("char_length(btrim(body)) BETWEEN 1 AND 10000", name="body_length"),
)
sa.Index("ix_comments_blog_id_id", comments.c.blog_id, comments.c.id)
sa.Index("ix_comments_user_id", comments.c.user_id)

# RealWorld's `articlesCount` reads these instead of counting (sql/migrations/0016_counters.sql,
# 0022_counter_slots.sql): all blogs, summed over 64 slots, and each user's blogs and favorites,
# summed over up to 16 rows per user (two tables, so the triggers lock each kind apart). Kept by
# statement triggers on blogs and favorites; a writer adds to a slot no other transaction holds.
blog_count_slots = sa.Table(
    "blog_count_slots",
    metadata,
    sa.Column("slot", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("blog_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("slot BETWEEN 0 AND 63", name="slot_range"),
)

user_blog_counts = sa.Table(
    "user_blog_counts",
    metadata,
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("blog_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column(
        "slot", sa.BigInteger, primary_key=True, autoincrement=False, server_default=sa.text("0")
    ),
    sa.CheckConstraint("slot BETWEEN 0 AND 15", name="slot_range"),
)

user_favorite_counts = sa.Table(
    "user_favorite_counts",
    metadata,
    sa.Column(
        "user_id", sa.BigInteger, sa.ForeignKey(users.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("favorite_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column(
        "slot", sa.BigInteger, primary_key=True, autoincrement=False, server_default=sa.text("0")
    ),
    sa.CheckConstraint("slot BETWEEN 0 AND 15", name="slot_range"),
)

# The part of a tag's count that writers added while another transaction held the tag's row
# (sql/migrations/0024_tag_count_slots.sql): up to 15 rows per tag, folded into tags.blog_count
# by tag_counts_fold(), which each worker of the service calls about once a second (0026).
tag_blog_counts = sa.Table(
    "tag_blog_counts",
    metadata,
    sa.Column(
        "tag_id", sa.BigInteger, sa.ForeignKey(tags.c.id, ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("slot", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("blog_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("slot BETWEEN 1 AND 15", name="slot_range"),
    postgresql_with={"autovacuum_vacuum_threshold": 200, "autovacuum_vacuum_scale_factor": 0},
)

deployment = sa.Table(
    "deployment",
    metadata,
    sa.Column("singleton", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("id", sa.Uuid, nullable=False, server_default=sa.func.gen_random_uuid()),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("singleton", name="singleton"),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("hits", sa.BigInteger, nullable=False),
    sa.Column("window_ends", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_rate_limits_window_ends", "window_ends"),
    prefixes=["UNLOGGED"],
)

# What writers changed, queued for the read cache's listeners to announce (the payloads of
# sql/migrations/0023_read_cache_changes.sql): rows live milliseconds, so no key and no WAL.
read_cache_changes = sa.Table(
    "read_cache_changes",
    metadata,
    sa.Column("payload", sa.Text, nullable=False),
    prefixes=["UNLOGGED"],
    postgresql_with={"autovacuum_vacuum_threshold": 100, "autovacuum_vacuum_scale_factor": 0},
)
