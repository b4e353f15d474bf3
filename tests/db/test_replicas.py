"""Reads on a real streaming replica, built for these tests (pg_basebackup -R), with the app on
real pools: anonymous reads go to the replica, everything else to the primary; a lagging or
stopped replica gets no reads and fails no request; a replica URL that is the primary is
refused at start.

Which server answered shows in the data: with replay paused on the replica, a blog deleted on
the primary is still there on the replica only."""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from httpx import AsyncClient

from service.db import migrations
from service.db.replicas import Databases, NotAReplica, estimate_lag, wal_position
from service.settings import Settings
from service.testing.accounts import sign_up_with
from service.testing.app import settings_for
from service.testing.databases import connect
from tests.support.replicas import Cluster, streaming_replica
from tests.support.servers import in_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with streaming_replica() as cluster:
        asyncio.run(migrations.migrate(cluster.primary_url))
        yield cluster


@pytest.fixture
async def replay(cluster: Cluster) -> AsyncIterator[None]:
    """Make sure replay runs at the start and end of each test."""
    async with connect(cluster.replica_url) as replica:
        await replica.execute("SELECT pg_wal_replay_resume()")
    yield
    async with connect(cluster.replica_url) as replica:
        await replica.execute("SELECT pg_wal_replay_resume()")


async def _pause(cluster: Cluster) -> None:
    async with connect(cluster.replica_url) as replica:
        await replica.execute("SELECT pg_wal_replay_pause()")


async def _a_blog_only_the_replica_has(cluster: Cluster, client: AsyncClient) -> int:
    """A blog deleted on the primary while the replica, paused, still shows it."""
    author = await sign_up_with(client)
    created = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=author.headers)
    blog_id: int = created.json()["id"]
    await cluster.caught_up()
    await _pause(cluster)
    async with connect(cluster.primary_url) as primary:
        await primary.execute("DELETE FROM blogs WHERE id = $1", blog_id)
    return blog_id


async def _replica_answered(cluster: Cluster, client: AsyncClient, blog_id: int) -> bool:
    """Whether the replica ran the read of `blog_id` just made (its backends' last statements)."""
    async with connect(cluster.replica_url) as replica:
        before = await replica.fetchval("SELECT clock_timestamp()")
        assert (await client.get(f"/blogs/{blog_id}")).status_code == 200
        return bool(
            await replica.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blog-api' "
                "AND query LIKE '%FROM blog_cards AS c%' AND state_change >= $1",
                before,
            )
        )


def _settings(cluster: Cluster, **overrides: object) -> Settings:
    options: dict[str, Any] = {"replica_check_seconds": 0.1} | overrides
    return settings_for(cluster.primary_url, database_replica_urls=cluster.replica_url, **options)


# --- the lag estimate ----------------------------------------------------------------------------


def test_wal_positions_compare_as_postgresql_orders_them() -> None:
    assert wal_position("0/0") == 0
    assert wal_position("16/B374D848") == 0x16_B374D848
    assert wal_position("1/0") > wal_position("0/FFFFFFFF")


def _lag(checks: list[tuple[float, int]], replayed: int, since: float | None) -> float:
    return estimate_lag(
        samples=deque(checks), replayed=replayed, primary=1_000, since=since, now=100.0
    )


def test_a_replica_that_replayed_everything_has_no_lag() -> None:
    assert estimate_lag(samples=deque(), replayed=500, primary=500, since=60.0, now=100.0) == 0


def test_a_replica_a_little_behind_two_checks_in_a_row_is_not_lagging_after_a_quiet_spell() -> None:
    # The primary wrote a background record at each of the last two checks, 0.1 s apart, and the
    # replica has not replayed them yet; its last replayed commit was a minute ago. It has
    # replayed what the primary had 0.2 s ago: that bounds its lag.
    checks = [(99.7, 400), (99.8, 600), (99.9, 800)]
    assert _lag(checks, replayed=600, since=60.0) == pytest.approx(0.2)


def test_the_time_since_the_last_replayed_commit_bounds_it_too() -> None:
    assert _lag([(90.0, 400), (95.0, 900)], replayed=500, since=2.5) == 2.5


def test_a_replica_behind_every_remembered_check_is_as_far_behind_as_its_last_commit() -> None:
    assert _lag([(98.0, 700), (99.0, 900)], replayed=500, since=30.0) == 30.0
    # No transaction replayed since it started: behind the oldest check at least.
    assert _lag([(98.0, 700), (99.0, 900)], replayed=500, since=None) == 2.0


async def test_anonymous_reads_go_to_the_replica_and_the_rest_to_the_primary(
    cluster: Cluster, replay: None
) -> None:
    settings = _settings(cluster, replica_max_lag=60)
    async with in_process(cluster.primary_url, settings=settings) as client:
        blog_id = await _a_blog_only_the_replica_has(cluster, client)
        anonymous = await client.get(f"/blogs/{blog_id}")
        assert anonymous.status_code == 200  # the replica, behind but within the limit
        reader = await sign_up_with(client)
        signed_in = await client.get(f"/blogs/{blog_id}", headers=reader.headers)
        assert signed_in.status_code == 404  # a token: the primary
        ready = await client.get("/health/ready")
        assert ready.json()["databases"] == {"primary": "ok", "replica-1": "ok"}


async def test_a_blog_written_on_the_primary_shows_up_on_the_replica(
    cluster: Cluster, replay: None
) -> None:
    async with in_process(cluster.primary_url, settings=_settings(cluster)) as client:
        author = await sign_up_with(client)
        created = await client.post(
            "/blogs", json={"title": "replicated", "body": "b"}, headers=author.headers
        )
        blog_id = created.json()["id"]

        async def on_the_replica() -> bool:
            async with connect(cluster.replica_url) as replica:
                return bool(await replica.fetchval("SELECT 1 FROM blogs WHERE id = $1", blog_id))

        await eventually(on_the_replica, within=20, what="the blog on the replica")
        assert (await client.get(f"/blogs/{blog_id}")).json()["title"] == "replicated"


async def test_a_replica_past_the_lag_limit_gets_no_reads_until_it_catches_up(
    cluster: Cluster, replay: None
) -> None:
    settings = _settings(cluster, replica_max_lag=1)
    async with in_process(cluster.primary_url, settings=settings) as client:
        blog_id = await _a_blog_only_the_replica_has(cluster, client)

        async def lagging() -> bool:
            ready = await client.get("/health/ready")
            return bool(ready.json()["databases"]["replica-1"] == "lagging")

        await eventually(lagging, within=20, what="the replica to be seen lagging")
        assert (await client.get(f"/blogs/{blog_id}")).status_code == 404  # the primary
        async with connect(cluster.replica_url) as replica:
            await replica.execute("SELECT pg_wal_replay_resume()")

        async def back() -> bool:
            ready = await client.get("/health/ready")
            return bool(ready.json()["databases"]["replica-1"] == "ok")

        await eventually(back, within=20, what="the replica to be back")
        author = await sign_up_with(client)
        created = await client.post(
            "/blogs", json={"title": "t", "body": "b"}, headers=author.headers
        )
        await cluster.caught_up()
        # Until the checker sees the replica has replayed the new blog, a check that ran while it
        # was behind may have it counted as lagging again.
        await eventually(back, within=20, what="the replica to be back after the write")
        # A read is seen on the replica by its backend's last statement, which the checker's own
        # query (every 0.1 s, on the same pool) overwrites now and then: about 2 in 100 reads.
        # Some read of a few must be seen there; none would be if reads went to the primary.
        await eventually(
            lambda: _replica_answered(cluster, client, created.json()["id"]),
            within=10,
            what="a read answered by the replica",
        )


async def test_a_stopped_replica_fails_no_request_and_is_used_again_when_back(
    cluster: Cluster, replay: None
) -> None:
    # The checker never runs on its own here: the requests themselves find the replica gone.
    settings = _settings(cluster, replica_max_lag=60, replica_check_seconds=3600)
    async with in_process(cluster.primary_url, settings=settings) as client:
        databases = client._transport.app.state.databases  # type: ignore[attr-defined]
        author = await sign_up_with(client)
        created = await client.post(
            "/blogs", json={"title": "t", "body": "b"}, headers=author.headers
        )
        blog_id = created.json()["id"]
        await cluster.caught_up()
        assert await _replica_answered(cluster, client, blog_id)
        await asyncio.to_thread(cluster.stop_replica)
        try:
            answers = [await client.get(f"/blogs/{blog_id}")]
            answers += await asyncio.gather(*(client.get("/blogs") for _ in range(10)))
            assert [a.status_code for a in answers] == [200] * 11
            ready = await client.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["databases"]["replica-1"] == "down"
        finally:
            await asyncio.to_thread(cluster.start_replica)
        await eventually(
            lambda: _checked_ok(databases), within=30, what="the replica to be seen back"
        )
        assert await _replica_answered(cluster, client, blog_id)


async def test_wal_after_a_quiet_spell_does_not_make_an_idle_replica_lag(
    cluster: Cluster, replay: None
) -> None:
    # After a quiet spell the last replayed commit is old; a WAL record that is no commit (a
    # checkpoint) puts the replica behind for a moment. It has replayed all the primary had at
    # the previous check, so it is at most one check interval behind, not the quiet spell.
    settings = _settings(cluster, replica_max_lag=1, replica_check_seconds=3600)
    async with in_process(cluster.primary_url, settings=settings) as client:
        databases: Databases = client._transport.app.state.databases  # type: ignore[attr-defined]
        await cluster.caught_up()
        await asyncio.sleep(1.5)  # quiet: the last commit the replica replayed ages
        await databases.check_replicas()
        assert databases.replicas[0].state == "ok"
        await _pause(cluster)
        async with connect(cluster.primary_url) as primary:
            await primary.execute("CHECKPOINT")
        await databases.check_replicas()
        replica = databases.replicas[0]
        assert replica.lag is not None and 0 < replica.lag < 1, replica.lag
        assert replica.state == "ok"
        # Still paused at the next check: now it is behind what the primary had then.
        await asyncio.sleep(1.1)
        await databases.check_replicas()
        assert replica.state == "lagging"


async def _checked_ok(databases: Databases) -> bool:
    await databases.check_replicas()
    return databases.replicas[0].state == "ok"


async def test_a_replica_url_that_is_the_primary_is_refused_at_start(cluster: Cluster) -> None:
    settings = settings_for(cluster.primary_url, database_replica_urls=cluster.primary_url)
    with pytest.raises(NotAReplica, match="is not a replica"):
        async with in_process(cluster.primary_url, settings=settings):
            pass
