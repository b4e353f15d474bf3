"""The platform's schema (sql/migrations/0009-0013): usernames and slugs for old and new rows,
the counters kept by triggers, and the checks every row must pass."""

import shutil
from pathlib import Path

import asyncpg
import pytest

from service.db import migrations
from service.db.migrations import MIGRATIONS_DIR
from service.testing.databases import ScratchDatabase, connect

pytestmark = pytest.mark.anyio


async def test_rows_from_before_the_platform_get_usernames_and_slugs(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < 9:
            shutil.copy(path, before)
    await migrations.migrate(url, before)
    async with connect(url) as conn:
        await conn.execute(
            "INSERT INTO users (id, name, email, password_hash) VALUES "
            "(1, 'Ada Lovelace', 'a@x.org', 'x'), (2, 'Ada Lovelace', 'b@x.org', 'x'), "
            "(3, '日本語', 'c@x.org', 'x'), (4, 'A very long name indeed, longer', 'd@x.org', 'x')"
        )
        await conn.execute(
            "INSERT INTO blogs (id, user_id, title, body) VALUES "
            "(10, 1, 'Hello, World!', 'b'), (11, 1, 'Hello, World!', 'b'), (12, 2, '¿?', 'b')"
        )

    await migrations.migrate(url)

    async with connect(url) as conn:
        users = await conn.fetch("SELECT id, username FROM users ORDER BY id")
        blogs = await conn.fetch("SELECT id, slug, description, favorites_count FROM blogs")
        unvalidated = await conn.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"
        )
    assert [row["username"] for row in users] == [
        "ada-lovelace.1",
        "ada-lovelace.2",
        "user.3",
        "a-very-long-name-ind.4",
    ]
    assert sorted((row["id"], row["slug"]) for row in blogs) == [
        (10, "hello-world-10"),
        (11, "hello-world-11"),
        (12, "blog-12"),
    ]
    assert {(row["description"], row["favorites_count"]) for row in blogs} == {("", 0)}
    assert unvalidated == 0


async def test_new_rows_get_theirs_from_the_triggers_and_keep_the_slug(
    raw: asyncpg.Connection,
) -> None:
    user_id = await raw.fetchval(
        "INSERT INTO users (name, email, password_hash) VALUES ('Grace  Hopper', 'g@x.org', 'x') "
        "RETURNING id"
    )
    chosen = await raw.fetchval(
        "INSERT INTO users (name, email, password_hash, username) "
        "VALUES ('G', 'h@x.org', 'x', 'Grace_H') RETURNING username"
    )
    blog = await raw.fetchrow(
        "INSERT INTO blogs (user_id, title, body) VALUES ($1, '  Why -- SQL?  ', 'b') "
        "RETURNING id, slug",
        user_id,
    )
    await raw.execute("UPDATE blogs SET title = 'Renamed' WHERE id = $1", blog["id"])
    assert await raw.fetchval("SELECT username FROM users WHERE id = $1", user_id) == (
        f"grace-hopper.{user_id}"
    )
    assert chosen == "Grace_H"
    assert blog["slug"] == f"why-sql-{blog['id']}"
    assert await raw.fetchval("SELECT slug FROM blogs WHERE id = $1", blog["id"]) == blog["slug"]


async def test_usernames_are_unique_in_any_letter_case(raw: asyncpg.Connection) -> None:
    await raw.execute(
        "INSERT INTO users (name, email, password_hash, username) "
        "VALUES ('a', 'a@x.org', 'x', 'Ada')"
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await raw.execute(
            "INSERT INTO users (name, email, password_hash, username) "
            "VALUES ('b', 'b@x.org', 'x', 'ADA')"
        )


async def test_counters_follow_their_rows_through_cascades(raw: asyncpg.Connection) -> None:
    ada, bob = [
        await raw.fetchval(
            "INSERT INTO users (name, email, password_hash) VALUES ($1, $2, 'x') RETURNING id",
            name,
            f"{name}@x.org",
        )
        for name in ("ada", "bob")
    ]
    first, second = [
        await raw.fetchrow(
            "INSERT INTO blogs (user_id, title, body) VALUES ($1, 't', 'b') "
            "RETURNING id, created_at",
            ada,
        )
        for _ in range(2)
    ]
    tag = await raw.fetchval("INSERT INTO tags (name) VALUES ('sql') RETURNING id")
    for blog in (first, second):
        await raw.execute(
            "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) VALUES ($1, $2, $3)",
            blog["id"],
            tag,
            blog["created_at"],
        )
    for user in (ada, bob):
        await raw.execute(
            "INSERT INTO favorites (user_id, blog_id, blog_created_at) VALUES ($1, $2, $3)",
            user,
            second["id"],
            second["created_at"],
        )

    async def counts() -> tuple[int, int]:
        return (
            await raw.fetchval("SELECT blog_count FROM tags WHERE id = $1", tag),
            await raw.fetchval("SELECT favorites_count FROM blogs WHERE id = $1", second["id"]),
        )

    assert await counts() == (2, 2)
    await raw.execute("DELETE FROM users WHERE id = $1", bob)  # cascades to a favorite
    await raw.execute("DELETE FROM blogs WHERE id = $1", first["id"])  # and to a tag link
    assert await counts() == (1, 1)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO users (name, email, password_hash, username) VALUES ('a', 'a@x', 'x', 'a b')",
        "INSERT INTO users (name, email, password_hash, bio) "
        "VALUES ('a', 'a@x', 'x', repeat('b', 1001))",
        "INSERT INTO tags (name) VALUES (' padded ')",
        "INSERT INTO tags (name) VALUES ('a,b')",
        "INSERT INTO tags (name) VALUES (repeat('t', 41))",
        "INSERT INTO follows (follower_id, followed_id) SELECT id, id FROM users LIMIT 1",
    ],
)
async def test_the_checks_refuse_what_no_row_may_hold(
    raw: asyncpg.Connection, statement: str
) -> None:
    await raw.execute("INSERT INTO users (name, email, password_hash) VALUES ('u', 'u@x.org', 'x')")
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute(statement)
