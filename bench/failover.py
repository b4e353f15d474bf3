"""`python bench/failover.py [--failovers N]`: the service through N losses of its primary
(default 3), on a pg_auto_failover cluster of its own (tests/support/ha_cluster.py: a monitor
and two nodes, synchronous replication, health checks tuned to about a second).

The service runs as `python -m service serve` (one worker) on the cluster's multi-host URL, with
anonymous reads on whichever node is a standby (`target_session_attrs=prefer-standby`). Three
writers send POST /blogs without pause and two anonymous readers GET /blogs (tests/
failover_traffic.py); a client told 503 comes back after 0.1 s. Each round waits for a primary
and a synchronous standby, lets writes flow, kills the primary's keeper and postmaster with
SIGKILL (its machine dying), waits for writes to flow again, then starts the lost node again (it
rejoins as a standby) for the next round. For each failover it prints the seconds from the kill
to the first write answered 201, the 503s answered, the reads that failed and the acknowledged
writes the new primary does not have. Needs Debian's postgresql-15-auto-failover and
pg-auto-failover-cli, and root or the postgres user.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from service.db import migrations  # noqa: E402
from service.testing.accounts import sign_up_with  # noqa: E402
from service.testing.databases import fetchval  # noqa: E402
from tests.support.failover_traffic import Traffic  # noqa: E402
from tests.support.ha_cluster import (  # noqa: E402
    HEALTH_CHECKS,
    KEEPER_TIMEOUTS,
    auto_failover_cluster,
)
from tests.support.servers import serving  # noqa: E402

TARGET_SECONDS = 10


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(failovers: int) -> int:
    print(f"load average at start: {_load()}")
    started = time.monotonic()
    with auto_failover_cluster() as cluster:
        print(f"cluster up in {time.monotonic() - started:.1f} s: {cluster.url()}")
        print("monitor: " + ", ".join(f"{name}={value}" for name, value in HEALTH_CHECKS.items()))
        print("keepers: " + ", ".join(f"{name}={value}" for name, value in KEEPER_TIMEOUTS.items()))
        url = cluster.url()
        await migrations.migrate(url)
        settings = {
            "DATABASE_REPLICA_URLS": cluster.url(target_session_attrs="prefer-standby"),
            "REPLICA_MAX_LAG": "10",
            "WRITE_MAX_PER_USER": "1000000",
            "DB_ACQUIRE_TIMEOUT": "2",
        }
        rows = []
        async with serving(url, **settings) as server, server.client(timeout=15) as client:
            account = await sign_up_with(client)
            for round_ in range(1, failovers + 1):
                await asyncio.to_thread(cluster.wait_until_healthy)
                synchronous = await asyncio.to_thread(cluster.synchronous_standby_names)
                traffic = Traffic(client, account.headers)
                traffic.start()
                try:
                    await _writes(traffic, since=0, within=60)
                    lost = await asyncio.to_thread(cluster.lose_primary)
                    assert lost.lost_at is not None
                    killed = lost.lost_at
                    await _writes(traffic, since=killed, within=120)
                finally:
                    await traffic.stop()
                first = traffic.first_write_after(killed)
                survivor = next(node for node in cluster.nodes if node is not lost)
                stored = await fetchval(
                    cluster.node_url(survivor),
                    "SELECT count(*) FROM blogs WHERE id = ANY($1)",
                    list(traffic.acknowledged),
                )
                rows.append(
                    (
                        round_,
                        f"{lost.name}->{survivor.name}",
                        "sync" if synchronous else "async",
                        (first - killed) if first is not None else float("nan"),
                        traffic.write_statuses[503] + traffic.read_statuses[503],
                        traffic.failed_reads,
                        len(traffic.acknowledged) - stored,
                        len(traffic.acknowledged),
                        traffic.write_statuses.get(500, 0) + traffic.read_statuses.get(500, 0),
                    )
                )
                print(_row(*rows[-1]), flush=True)
                await asyncio.to_thread(cluster.revive, lost)
            metrics = (await client.get("/metrics")).text
    print("\n".join(line for line in metrics.splitlines() if line.startswith("blog_api_failover")))
    worst = max(row[3] for row in rows)
    lost_total = sum(row[6] for row in rows)
    failed_reads = sum(row[5] for row in rows)
    print(
        f"worst first write after the kill {worst:.2f} s (target {TARGET_SECONDS} s), "
        f"acknowledged writes lost {lost_total}, anonymous reads failed {failed_reads}"
    )
    print(f"load average at end: {_load()}")
    ok = worst <= TARGET_SECONDS and lost_total == 0 and failed_reads == 0
    return 0 if ok else 1


def _row(*values: object) -> str:
    (round_, move, mode, seconds, refused, failed, lost, acknowledged, errors) = values
    return (
        f"failover {round_} ({move}, {mode}): first write {seconds:.2f} s after the kill, "
        f"503s answered {refused}, reads failed {failed}, acknowledged writes lost "
        f"{lost} of {acknowledged}, 500s {errors}"
    )


async def _writes(traffic: Traffic, *, since: float, within: float) -> None:
    """Until 20 writes were acknowledged after `since` (monotonic)."""
    deadline = time.monotonic() + within
    while traffic.writes_since(since) < 20:
        if time.monotonic() > deadline:
            raise TimeoutError(f"writes did not flow within {within} s")
        await asyncio.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failovers", type=int, default=3)
    args = parser.parse_args()
    if args.failovers < 1:
        parser.error("--failovers must be 1 or more")
    return asyncio.run(run(args.failovers))


if __name__ == "__main__":
    sys.exit(main())
