"""Rate limits in PostgreSQL: counted atomically, shared, windows that end."""

import asyncio

import pytest

from service import limits
from service.db.database import Connection, Database
from service.errors import TooManyAttempts
from service.limits import Limit
from tests.utils import ScratchDatabase, fetchval

pytestmark = pytest.mark.anyio

TIGHT = Limit("test-tight", 3, 60)
LOOSE = Limit("test-loose", 100, 60)


async def test_attempts_past_the_limit_are_refused_with_the_time_left(db: Connection) -> None:
    for _ in range(3):
        await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="slow down")
    with pytest.raises(TooManyAttempts) as refused:
        await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="slow down")
    assert refused.value.message == "slow down"
    assert 1 <= refused.value.retry_after <= 60
    # Another subject has its own counter.
    await limits.count(db=db, attempts=[(TIGHT, ("b",))], message="slow down")


async def test_any_limit_over_refuses_and_forgive_takes_attempts_back(db: Connection) -> None:
    both = [(TIGHT, ("a",)), (LOOSE, ("a",))]
    for _ in range(3):
        await limits.count(db=db, attempts=both, message="no")
    await limits.forgive(db=db, attempts=both[1:], cleared=both[:1])
    await limits.count(db=db, attempts=both, message="no")  # the tight counter was cleared
    raw = await db.raw()
    hits = await raw.fetchval("SELECT hits FROM rate_limits WHERE key = $1", LOOSE.key("a"))
    assert hits == 3  # three counted, one forgiven, one more counted


async def test_a_window_that_has_ended_starts_again(db: Connection) -> None:
    short = Limit("test-short", 1, 0.05)
    await limits.count(db=db, attempts=[(short, ("a",))], message="no")
    with pytest.raises(TooManyAttempts):
        await limits.count(db=db, attempts=[(short, ("a",))], message="no")
    await asyncio.sleep(0.1)
    await limits.count(db=db, attempts=[(short, ("a",))], message="no")


async def test_keys_are_short_whatever_the_subject(db: Connection) -> None:
    await limits.count(db=db, attempts=[(TIGHT, ("x" * 1_000_000, "\udcff"))], message="no")
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
    await limits.count(db=db, attempts=[(TIGHT, ("a",))], message="no")
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
                        db=db, attempts=[(TIGHT, ("a",)), (LOOSE, ("a",))], message="no"
                    )
                except TooManyAttempts:
                    return False
                return True

        results = await asyncio.gather(*(attempt() for _ in range(40)))
    finally:
        await database.disconnect()
    assert results.count(True) == TIGHT.max_hits
    assert await fetchval(url, "SELECT hits FROM rate_limits WHERE key = $1", LOOSE.key("a")) == 40
