"""The schema as SQLAlchemy Core metadata.

`sql/migrations/` holds the same schema as plain SQL; tests/test_tables.py proves the two agree.
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
    sa.CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
)

# Emails are stored lower-cased; the unique index on lower(email) keeps them unique in any
# letter case even for rows written outside the API.
sa.Index("uq_users_email_lower", sa.func.lower(users.c.email), unique=True)

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
    sa.CheckConstraint("char_length(btrim(title)) BETWEEN 1 AND 200", name="title_length"),
    sa.CheckConstraint("char_length(body) BETWEEN 1 AND 100000", name="body_length"),
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
