"""The read cache's queue (sql/migrations/0023_read_cache_changes.sql) and the listeners that
announce it (service/db/invalidations.py), on a real server."""

import asyncio
from collections import Counter

import asyncpg
import pytest

from service.db.invalidations import CHANNEL, InvalidationListener
from service.testing.accounts import sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect
from tests.support.servers import in_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


async def _announced(url: str, *, announcer: asyncpg.Connection) -> list[str]:
    """The notifications one read_cache_announce() call sends."""
    heard: list[str] = []
    async with connect(url) as listening:
        await listening.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
        sent = await announcer.fetchval("SELECT read_cache_announce()")
        await listening.execute("SELECT 1")  # notifications arrive before a later answer

        async def arrived() -> bool:
            return len(heard) == sent

        await eventually(arrived, within=5, what="the notifications to arrive")
    return heard


async def test_committed_changes_are_announced_once_and_uncommitted_ones_wait(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as writer, connect(url) as pending, connect(url) as announcer:
        await writer.execute("SELECT read_cache_notify('{b:1,L}')")
        await writer.execute("SELECT read_cache_notify('{b:2,L}')")
        transaction = pending.transaction()
        await transaction.start()
        await pending.execute("SELECT read_cache_notify('{b:3}')")

        first = await _announced(url, announcer=announcer)
        again = await _announced(url, announcer=announcer)
        await transaction.commit()
        after_commit = await _announced(url, announcer=announcer)
        left = await announcer.fetchval("SELECT count(*) FROM read_cache_changes")
    assert [sorted(message.split()) for message in first] == [["L", "b:1", "b:2"]]
    assert again == []
    assert after_commit == ["b:3"]
    assert left == 0


async def test_a_rolled_back_change_is_never_announced(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    async with connect(url) as writer, connect(url) as announcer:
        transaction = writer.transaction()
        await transaction.start()
        await writer.execute("SELECT read_cache_notify('{b:9}')")
        await transaction.rollback()
        assert await _announced(url, announcer=announcer) == []


async def test_many_keys_go_out_in_notifications_that_fit_and_everything_alone(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    keys = [f"s:a-slug-long-enough-to-fill-{i:05}" for i in range(1000)]
    async with connect(url) as writer, connect(url) as announcer:
        for start in range(0, len(keys), 100):
            await writer.execute("SELECT read_cache_notify($1)", keys[start : start + 100])
        split = await _announced(url, announcer=announcer)
        await writer.execute("SELECT read_cache_notify('{b:1}')")
        await writer.execute("SELECT read_cache_notify('{*}')")
        everything = await _announced(url, announcer=announcer)
    assert len(split) > 1
    assert all(len(message.encode()) <= 7900 for message in split)
    assert sorted(key for message in split for key in message.split()) == keys
    assert everything == ["*"]


async def test_two_listeners_each_hear_every_change_once(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    heard: list[Counter[str]] = [Counter(), Counter()]
    up = [asyncio.Event(), asyncio.Event()]
    listeners = [
        InvalidationListener(
            url,
            on_invalidate=heard[n].update,
            on_up=up[n].set,
            on_down=lambda: None,
            announce_seconds=0.005,
        )
        for n in range(2)
    ]
    for listener in listeners:
        listener.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in up)), 10)
        keys = [f"b:{i}" for i in range(200)]

        async def write(some: list[str]) -> None:
            async with connect(url) as writer:
                for key in some:  # a transaction each
                    await writer.execute("SELECT read_cache_notify($1)", [key])

        await asyncio.gather(*(write(keys[n::8]) for n in range(8)))

        async def all_heard() -> bool:
            return all(set(counted) >= set(keys) for counted in heard)

        await eventually(all_heard, within=10, what="every change to reach both listeners")
    finally:
        for listener in listeners:
            await listener.stop()
    for counted in heard:
        assert {key: n for key, n in counted.items() if n != 1} == {}
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM read_cache_changes") == 0


async def test_a_worker_without_the_cache_still_takes_the_queue(
    scratch_database: ScratchDatabase,
) -> None:
    """Writers queue their changes whatever the worker serves: with READ_CACHE=false nothing
    else would ever take them, and the queue would grow with every write."""
    url = await scratch_database()
    queued = "SELECT count(*) FROM read_cache_changes"
    async with in_process(url, settings=settings_for(url, read_cache=False)) as client:
        author = await sign_up_with(client, "Ada")
        for n in range(3):
            made = await client.post(
                "/blogs", json={"title": f"t{n}", "body": "b"}, headers=author.headers
            )
            assert made.status_code == 201, made.text
        async with connect(url) as conn:
            written = await conn.fetchval("SELECT count(*) FROM blogs")

            async def taken() -> bool:
                left: int = await conn.fetchval(queued)
                return left == 0

            await eventually(taken, within=5, what="the queue to be taken")
    assert written == 3


async def test_each_worker_folds_the_slot_rows_no_writer_took(
    scratch_database: ScratchDatabase,
) -> None:
    """A tag's slot rows (0024) stay until a fold (0026: writers never fold); the listener's
    loop folds them, so the most used tags stay an index walk."""
    url = await scratch_database()
    async with in_process(url, settings=settings_for(url, read_cache=False)) as client:
        author = await sign_up_with(client, "Ada")
        made = await client.post(
            "/blogs", json={"title": "t", "body": "b", "tags": ["red"]}, headers=author.headers
        )
        assert made.status_code == 201, made.text
        async with connect(url) as holder, connect(url) as conn:
            held = holder.transaction()
            await held.start()
            await holder.execute("SELECT FROM tags WHERE name = 'red' FOR NO KEY UPDATE")
            await conn.execute("DELETE FROM blogs WHERE id = $1", made.json()["id"])
            parked = await conn.fetchval("SELECT count(*) FROM tag_blog_counts")
            await held.rollback()

            async def folded() -> bool:
                left: int = await conn.fetchval("SELECT count(*) FROM tag_blog_counts")
                return left == 0

            await eventually(folded, within=5, what="the slot row to be folded")
            count = await conn.fetchval("SELECT blog_count FROM tags WHERE name = 'red'")
    assert (parked, count) == (1, 0)
