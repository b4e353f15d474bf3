"""The response cache with a real streaming replica: a miss the replica answers with a page
older than an invalidation already received is not stored."""

import asyncio
from collections.abc import Iterator

import pytest

from service.db import migrations
from service.testing.accounts import sign_up_with
from service.testing.databases import connect
from tests.api.middleware.test_read_cache import cached_app
from tests.support.api import write_blog
from tests.support.replicas import Cluster, streaming_replica

pytestmark = pytest.mark.anyio

MAX_LAG = 3.0
CHECK_SECONDS = 0.1
WINDOW = MAX_LAG + 2 * CHECK_SECONDS


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with streaming_replica() as cluster:
        asyncio.run(migrations.migrate(cluster.primary_url))
        yield cluster


async def test_a_replica_page_older_than_an_invalidation_received_is_not_stored(
    cluster: Cluster,
) -> None:
    async with cached_app(
        cluster.primary_url,
        database_replica_urls=cluster.replica_url,
        replica_max_lag=MAX_LAG,
        replica_check_seconds=CHECK_SECONDS,
    ) as cached:
        author = await sign_up_with(cached.client, "Grace")
        blog = await write_blog(cached.client, author.headers, title="Original")
        path = f"/blogs/{blog['id']}"
        await cluster.caught_up()
        await asyncio.sleep(WINDOW)  # past the window of the listener's start
        await cached.stored(path)

        async with connect(cluster.replica_url) as replica:
            await replica.execute("SELECT pg_wal_replay_pause()")
            try:
                edited = await cached.client.patch(
                    path, json={"title": "Edited"}, headers=author.headers
                )
                assert edited.status_code == 200
                await cached.settled()
                # The replica, paused, still has the old page: it may be served, never stored.
                for _ in range(3):
                    old = await cached.client.get(path)
                    assert old.json()["title"] == "Original"
                assert len(cached.store) == 0
            finally:
                await replica.execute("SELECT pg_wal_replay_resume()")
        await cluster.caught_up()
        assert (await cached.client.get(path)).json()["title"] == "Edited"
