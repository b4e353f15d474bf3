"""The loss of the primary, on a real pg_auto_failover cluster (tests/support/ha_cluster.py),
through the service served as a real process on the cluster's multi-host URL: no acknowledged
write is lost, no request fails with a 500, no anonymous read fails (they are served by the
standby), and writes go on on the new primary."""

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from service.db import migrations
from service.testing.accounts import sign_up_with
from service.testing.databases import fetchval
from tests.support.failover_traffic import Traffic
from tests.support.ha_cluster import AutoFailoverCluster, auto_failover_cluster
from tests.support.project import PROJECT_ROOT
from tests.support.servers import serving

pytestmark = pytest.mark.anyio

# Enough writes acknowledged by the new primary to say writing works again.
WRITES_AFTER = 20


@pytest.fixture(scope="module")
def cluster() -> Iterator[AutoFailoverCluster]:
    with auto_failover_cluster() as cluster:
        yield cluster
    # Stopped means stopped: no keeper, no postmaster, no backend of it is left.
    assert cluster.processes() == []
    assert not cluster.base.exists()


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_no_acknowledged_write_is_lost_when_the_primary_dies(
    cluster: AutoFailoverCluster,
) -> None:
    url = cluster.url()
    await migrations.migrate(url)
    # Synchronous: the primary's commits wait for the standby.
    assert cluster.synchronous_standby_names().startswith("ANY 1 ")
    settings = {
        "DATABASE_REPLICA_URLS": cluster.url(target_session_attrs="prefer-standby"),
        "REPLICA_MAX_LAG": "10",
        "WRITE_MAX_PER_USER": "1000000",
        "DB_ACQUIRE_TIMEOUT": "2",
    }
    async with serving(url, **settings) as server, server.client(timeout=15) as client:
        account = await sign_up_with(client)
        traffic = Traffic(client, account.headers)
        traffic.start()
        try:
            await _until(lambda: len(traffic.acknowledged) >= 20, within=30)
            lost = await asyncio.to_thread(cluster.lose_primary)
            assert lost.lost_at is not None
            killed = lost.lost_at
            await _until(lambda: traffic.writes_since(killed) >= WRITES_AFTER, within=60)
        finally:
            await traffic.stop()
        ready = await client.get("/health/ready")
        metrics = (await client.get("/metrics")).text

    survivor = next(node for node in cluster.nodes if node is not lost)
    assert 500 not in traffic.write_statuses, traffic.write_statuses
    assert 500 not in traffic.read_statuses, traffic.read_statuses
    # Anonymous reads stayed on the standby while there was no primary, and on it once promoted.
    assert traffic.failed_reads == 0, traffic.read_statuses
    stored = await fetchval(
        cluster.node_url(survivor),
        "SELECT array_agg(id) FROM blogs WHERE id = ANY($1)",
        list(traffic.acknowledged),
    )
    assert traffic.acknowledged - set(stored or ()) == set(), "acknowledged blogs were lost"
    assert ready.status_code == 200
    assert ready.json()["primary"] == survivor.address
    assert ready.json()["writable"] is True
    assert _metric(metrics, "blog_api_failovers_seen") >= 1
    # The command line follows the primary too: the first host it names is the lost one.
    for command in (("migrate", "--status"), ("sql", "run", "activity")):
        done = await _service_command(url, *command)
        assert done.returncode == 0, done.stdout + done.stderr
    refused = traffic.write_statuses[503] + traffic.read_statuses[503]
    counted = _metric(metrics, "blog_api_failover_refusals_total")
    assert 0 < counted <= refused if refused else counted == 0, (
        f"{counted} failover refusals counted, {refused} 503s seen; writes "
        f"{dict(traffic.write_statuses)}, reads {dict(traffic.read_statuses)}; "
        f"{re.findall(r'^blog_api_refusals_total.*$', metrics, re.MULTILINE)}"
    )


async def _service_command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _until(done: Callable[[], bool], *, within: float) -> None:
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"not done within {within} s")
        await asyncio.sleep(0.05)
