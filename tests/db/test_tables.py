"""The Core metadata and the SQL migrations describe the same schema.

One scratch database is built from `sql/migrations/`, another from `metadata.create_all`, and
SQLAlchemy's inspector must see the same tables, columns, types, nullability, defaults, keys,
checks and indexes in both.
"""

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.tables import metadata
from service.testing.databases import ScratchDatabase

pytestmark = pytest.mark.anyio


def _describe(connection: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    schema: dict[str, Any] = {}
    for table in sorted(set(inspector.get_table_names()) - {"schema_migrations"}):
        schema[table] = {
            "columns": [
                (
                    column["name"],
                    str(column["type"]),
                    column["nullable"],
                    column.get("default"),
                    bool(column.get("identity")),
                )
                for column in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table),
            "foreign_keys": sorted(
                (fk["name"], fk["constrained_columns"], fk["referred_table"], fk["options"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (uq["name"], uq["column_names"]) for uq in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(
                (ck["name"], ck["sqltext"]) for ck in inspector.get_check_constraints(table)
            ),
            "indexes": sorted(
                (
                    ix["name"],
                    ix["column_names"],
                    ix.get("expressions"),
                    ix["unique"],
                    ix.get("column_sorting"),
                )
                for ix in inspector.get_indexes(table)
            ),
        }
    return schema


async def _schema(url: str, *, create_all: bool = False) -> dict[str, Any]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as connection:
            if create_all:
                await connection.run_sync(metadata.create_all)
            return await connection.run_sync(_describe)
    finally:
        await engine.dispose()


async def test_metadata_matches_the_migrated_database(scratch_database: ScratchDatabase) -> None:
    migrated = await _schema(await scratch_database())
    from_metadata = await _schema(await scratch_database(migrated=False), create_all=True)
    assert set(migrated) == {
        "users",
        "blogs",
        "deployment",
        "rate_limits",
        "tags",
        "blog_tags",
        "favorites",
        "follows",
        "comments",
        "blog_count_slots",
        "user_blog_counts",
        "user_favorite_counts",
        "tag_blog_counts",
        "read_cache_changes",
    }
    for table in migrated:
        assert migrated[table] == from_metadata[table], table


async def test_constraint_names_follow_the_naming_convention(
    scratch_database: ScratchDatabase,
) -> None:
    schema = await _schema(await scratch_database())
    misnamed = []
    for table, described in schema.items():
        # Every table has a primary key but the read cache's queue, whose rows live milliseconds.
        assert (described["primary_key"]["name"] is None) == (table == "read_cache_changes")
        names = []
        if described["primary_key"]["name"] is not None:
            names += [("pk", described["primary_key"]["name"], f"pk_{table}")]
        names += [
            ("fk", name, f"fk_{table}_{'_'.join(columns)}_{referred}")
            for name, columns, referred, _ in described["foreign_keys"]
        ]
        names += [
            ("uq", name, f"uq_{table}_{'_'.join(columns)}") for name, columns in described["unique"]
        ]
        names += [("ck", name, f"ck_{table}_") for name, _ in described["checks"]]
        names += [
            ("ix", name, f"{'uq' if unique else 'ix'}_{table}_")
            for name, _, _, unique, _ in described["indexes"]
        ]
        misnamed += [(kind, name) for kind, name, prefix in names if not name.startswith(prefix)]
    assert misnamed == []
    assert schema["blogs"]["foreign_keys"][0][0] == "fk_blogs_user_id_users"
    assert [ix[0] for ix in schema["users"]["indexes"]] == [
        "uq_users_email_lower",
        "uq_users_username_lower",
    ]
