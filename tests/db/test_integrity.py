"""The database's refusals of one statement, mapped once for both APIs (service.db.integrity): a
row deleted under a statement is a 401 or a 404, a deadlock is tried again, never a 500."""

import asyncio

import pytest
import sqlalchemy as sa

from service.db.database import Connection, Database
from service.db.tables import blogs, favorites, follows, users
from service.errors import AuthenticationFailed, DatabaseUnavailable, NotFound
from service.testing.accounts import SignUp
from service.testing.databases import ScratchDatabase, connect

pytestmark = pytest.mark.anyio

GONE = 2**62


async def test_a_favorite_by_a_user_who_is_gone_is_a_401(db: Connection, sign_up: SignUp) -> None:
    author = await sign_up()
    blog = await db.fetch_one(
        sa.insert(blogs)
        .values(user_id=author.id, title="t", body="b", slug="integrity-t")
        .returning(blogs.c.id, blogs.c.created_at)
    )
    assert blog is not None
    with pytest.raises(AuthenticationFailed):
        await db.fetch_one(
            sa.insert(favorites)
            .values(user_id=GONE, blog_id=blog["id"], blog_created_at=blog["created_at"])
            .returning(favorites.c.user_id)
        )


async def test_a_follow_of_a_user_who_is_gone_is_a_404(db: Connection, sign_up: SignUp) -> None:
    follower = await sign_up()
    with pytest.raises(NotFound):
        await db.fetch_one(
            sa.insert(follows)
            .values(follower_id=follower.id, followed_id=GONE)
            .returning(follows.c.follower_id)
        )


async def test_a_statement_cancelled_by_a_deadlock_is_run_again(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as setup:
        await setup.execute("CREATE TABLE counted (id int PRIMARY KEY, n int NOT NULL)")
        await setup.execute("INSERT INTO counted VALUES (1, 0), (2, 0)")
    counted = sa.table("counted", sa.column("id"), sa.column("n"))
    database = Database(url, min_size=1, max_size=1)
    await database.connect()
    try:
        async with connect(url) as other, database.connection() as conn:
            # The other side never looks for the deadlock, so ours is the statement cancelled.
            await other.execute("SET deadlock_timeout = '30s'")
            await other.execute("BEGIN")
            await other.execute("UPDATE counted SET n = n + 10 WHERE id = 2")
            ours = asyncio.create_task(
                conn.fetch_one(
                    sa.update(counted)
                    .where(counted.c.id.in_([1, 2]))
                    .values(n=counted.c.n + 1)
                    .returning(counted.c.id)
                )
            )
            await asyncio.sleep(0.5)  # ours holds row 1 and waits for row 2
            await other.execute("UPDATE counted SET n = n + 10 WHERE id = 1")  # the deadlock
            await other.execute("COMMIT")
            assert await ours is not None
        async with connect(url) as check:
            rows = await check.fetch("SELECT id, n FROM counted ORDER BY id")
        # Applied once, after the other transaction: nothing lost, nothing twice.
        assert [tuple(row) for row in rows] == [(1, 11), (2, 11)]
    finally:
        await database.disconnect()


async def test_a_deadlock_inside_a_transaction_is_a_busy_database_not_a_500(
    db: Connection, sign_up: SignUp
) -> None:
    # The test's connection is inside a transaction: nothing may be run again on its own.
    account = await sign_up()
    raw = await db.raw()
    await raw.execute(
        "CREATE FUNCTION pg_temp.deadlock() RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
    )
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.fetch_one(sa.select(sa.func.pg_temp.deadlock()).where(users.c.id == account.id))
    assert refused.value.reason == "conflict"
