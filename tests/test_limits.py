"""Rate limits in PostgreSQL: counted atomically, shared, windows that end."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from service import limits
from service.db.database import Connection, Database
from service.errors import TooManyAttempts
from service.limits import KnownOverLimit, Limit
from service.testing.accounts import sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect, fetchval
from tests.support.api import write_blog
from tests.support.servers import in_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

TIGHT = Limit("test-tight", 3, 60)
LOOSE = Limit("test-loose", 100, 60)


async def test_attempts_past_the_limit_are_refused_with_the_time_left(db: Connection) -> None:
    for _ in range(3):
        await limits.count(
            db=db, attempts=[(TIGHT, ("a",))], message="slow down", known=KnownOverLimit()
        )
    with pytest.raises(TooManyAttempts) as refused:
        await limits.count(
            db=db, attempts=[(TIGHT, ("a",))], message="slow down", known=KnownOverLimit()
        )
    assert refused.value.message == "slow down"
    assert 1 <= refused.value.retry_after <= 60
    # Another subject has its own counter.
    await limits.count(
        db=db, attempts=[(TIGHT, ("b",))], message="slow down", known=KnownOverLimit()
    )


async def test_any_limit_over_refuses_and_forgive_takes_attempts_back(db: Connection) -> None:
    both = [(TIGHT, ("a",)), (LOOSE, ("a",))]
    for _ in range(3):
        await limits.count(db=db, attempts=both, message="no", known=KnownOverLimit())
    await limits.forgive(db=db, attempts=both[1:], cleared=both[:1])
    await limits.count(
        db=db, attempts=both, message="no", known=KnownOverLimit()
    )  # the tight counter was cleared
    raw = await db.raw()
    hits = await raw.fetchval("SELECT hits FROM rate_limits WHERE key = $1", LOOSE.key("a"))
    assert hits == 3  # three counted, one forgiven, one more counted


async def test_a_window_that_has_ended_starts_again(db: Connection) -> None:
    short = Limit("test-short", 1, 0.05)
    await limits.count(db=db, attempts=[(short, ("a",))], message="no", known=KnownOverLimit())
    with pytest.raises(TooManyAttempts):
        await limits.count(db=db, attempts=[(short, ("a",))], message="no", known=KnownOverLimit())
    await asyncio.sleep(0.1)
    await limits.count(db=db, attempts=[(short, ("a",))], message="no", known=KnownOverLimit())


async def test_keys_are_short_whatever_the_subject(db: Connection) -> None:
    await limits.count(
        db=db, attempts=[(TIGHT, ("x" * 1_000_000, "\udcff"))], message="no", known=KnownOverLimit()
    )
    raw = await db.raw()
    assert await raw.fetchval("SELECT max(length(key)) FROM rate_limits") < 100


async def test_ended_windows_are_swept(db: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = await db.raw()
    await raw.execute(
        "INSERT INTO rate_limits (key, hits, window_ends) "
        "SELECT 'old' || n, 1, clock_timestamp() - interval '2 minutes' "
        "FROM generate_series(1, 10) n"
    )
    monkeypatch.setattr(limits, "SWEEP_CHANCE", 1.0)
    await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="no", known=KnownOverLimit())
    assert await raw.fetchval("SELECT count(*) FROM rate_limits WHERE key LIKE 'old%'") == 0


async def test_concurrent_attempts_never_overshoot(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    database = Database(url, min_size=1, max_size=10)
    await database.connect()
    try:

        async def attempt() -> bool:
            async with database.connection() as db:
                try:
                    await limits.count(
                        db=db,
                        attempts=[(TIGHT, ("a",)), (LOOSE, ("a",))],
                        message="no",
                        known=KnownOverLimit(),
                    )
                except TooManyAttempts:
                    return False
                return True

        results = await asyncio.gather(*(attempt() for _ in range(40)))
    finally:
        await database.disconnect()
    assert results.count(True) == TIGHT.max_hits
    assert await fetchval(url, "SELECT hits FROM rate_limits WHERE key = $1", LOOSE.key("a")) == 40


async def test_a_key_known_over_its_limit_is_refused_without_the_database(db: Connection) -> None:
    known = KnownOverLimit()
    for _ in range(3):
        await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="no", known=known)
    with pytest.raises(TooManyAttempts):
        await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="no", known=known)
    raw = await db.raw()
    hits = await raw.fetchval("SELECT hits FROM rate_limits WHERE key = $1", TIGHT.key("a"))
    with pytest.raises(TooManyAttempts) as refused:
        await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="no", known=known)
    assert 1 <= refused.value.retry_after <= 60
    # Refused from memory: the database did not count it.
    assert await raw.fetchval("SELECT hits FROM rate_limits WHERE key = $1", TIGHT.key("a")) == hits


def test_known_over_limit_forgets_ended_windows_and_stays_bounded() -> None:
    known = KnownOverLimit(max_keys=2)
    known.remember("a", 60)
    known.remember("b", 0.0)
    assert known.seconds_left(["a"]) > 59
    assert known.seconds_left(["b"]) == 0  # ended
    known.remember("c", 60)
    known.remember("d", 60)  # full of live keys: not remembered, the database still decides
    assert known.seconds_left(["c"]) > 59
    assert known.seconds_left(["d"]) == 0


async def test_concurrent_writes_past_a_user_s_limit_are_429_and_change_nothing(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    settings = settings_for(url, write_max_per_user=4)
    async with in_process(url, settings=settings, min_size=4, max_size=4) as client:
        writer, other = [await sign_up_with(client, name) for name in ("Ada", "Bea")]
        first = await write_blog(client, writer.headers, title="first")
        path = f"/blogs/{first['id']}"
        writes = [
            write
            for _ in range(2)
            for write in (
                client.post("/blogs", json={"title": "t", "body": "b"}, headers=writer.headers),
                client.post(f"{path}/comments", json={"body": "c"}, headers=writer.headers),
                client.post(f"{path}/favorite", headers=writer.headers),
                client.patch(path, json={"title": "edited"}, headers=writer.headers),
            )
        ]
        answers = await asyncio.gather(*writes)
        codes = sorted(answer.status_code for answer in answers)
        refused = [answer for answer in answers if answer.status_code == 429]
        # Five writes in all were allowed (the first blog is one of them): four succeed here.
        assert len(refused) == 5, codes
        assert all(int(answer.headers["Retry-After"]) >= 1 for answer in refused)
        assert (await write_blog(client, other.headers, title="someone else")).keys()
    async with connect(url) as conn:
        made = await conn.fetchval(
            "SELECT (SELECT count(*) FROM blogs WHERE user_id = $1)"
            " + (SELECT count(*) FROM comments WHERE user_id = $1)"
            " + (SELECT count(*) FROM favorites WHERE user_id = $1)",
            writer.id,
        )
    assert made <= 4  # the first blog and at most three more rows (an edit adds none)


async def test_counts_waiting_for_the_pool_hold_up_no_other_client(
    scratch_database: ScratchDatabase,
) -> None:
    """Attempts from four clients wait for the pool's only connection; a fifth client's attempt,
    on a connection it already holds, is counted meanwhile instead of queueing behind them."""
    url = await scratch_database()
    database = Database(url, min_size=1, max_size=1, acquire_timeout=60)
    await database.connect()
    known = KnownOverLimit()

    async def attempt(db: Connection, client: str) -> None:
        await limits.count(db=db, attempts=[(LOOSE, (client,))], message="no", known=known)

    async def attempt_on_a_new_connection(client: str) -> None:
        async with database.connection() as db:
            await attempt(db, client)

    try:
        async with database.connection() as held:
            await held.raw()  # the pool's only connection
            before = _waiting_for_a_connection()
            waiting = [
                asyncio.create_task(attempt_on_a_new_connection(f"waiting-{n}")) for n in range(4)
            ]

            async def four_wait() -> bool:
                return _waiting_for_a_connection() == before + 4

            await eventually(four_wait, within=10, what="four attempts waiting for the pool")
            # Far less than the waiters' acquire timeout: queued behind them, this never ends.
            await asyncio.wait_for(attempt(held, "another client"), timeout=10)
            assert not any(task.done() for task in waiting)
        await asyncio.gather(*waiting)
    finally:
        await database.disconnect()
    hits = await fetchval(url, "SELECT sum(hits) FROM rate_limits")
    assert hits == 5


def _waiting_for_a_connection() -> float:
    return REGISTRY.get_sample_value("db_client_connection_pending_requests") or 0.0
