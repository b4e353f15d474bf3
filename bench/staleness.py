"""How long a change takes to show through the read cache, from its commit.

`python bench/staleness.py [--changes 500] [--workers 2] [--replica]`: serves the benchmark's
database (BENCH_DATABASE_URL) with `python -m service serve` and the cache on, then, over and
over, on a blog of the hot set (bench/main.py's E1H): reads its page until every worker has it
cached, commits a change the page shows (in turn its title, a new tag, one more favorite, its
owner's name) as a writer outside the service would, and polls the page anonymously, each
request on a fresh connection, until it shows the change. It prints p50, p99 and the maximum
time from the commit's return to the first read showing it, and counts the reads that started
more than `--bound` seconds after a commit yet showed the page from before it (must be 0).
Halfway through, every worker's listening connection is ended (pg_terminate_backend): the
changes around it count like the others.

`--replica` runs it on a small database of its own with a streaming replica built for the run
(tests.support.replicas.streaming_replica), the anonymous reads going to the replica.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

# Run as a script, this directory would come first on sys.path; the project root must instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import data  # noqa: E402
from bench.main import HOT_IDS, RESULTS, hot_ids  # noqa: E402
from bench.servers import HOST, TOKEN_SECRET  # noqa: E402
from service.db import migrations  # noqa: E402
from service.db.urls import asyncpg_dsn  # noqa: E402

KINDS = ("title", "tag", "favorite", "owner")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    stale_past_bound: int = 0
    reads: int = 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(url: str, workers: int, **env: str) -> Iterator[int]:
    port = _free_port()
    log = (RESULTS / "staleness-server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "service", "serve", "--host", HOST, "--port", str(port)],
        cwd=data.ROOT,
        env={
            **os.environ,
            "DATABASE_URL": url,
            "TOKEN_SECRET": TOKEN_SECRET,
            "LOG_LEVEL": "warning",
            "WORKERS": str(workers),
            "READ_CACHE": "true",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = asyncio.run(_get(port, "/health"))
                if status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start; see {log.name}")
            time.sleep(0.2)
        yield port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


async def _get(port: int, path: str) -> tuple[int, bytes]:
    """One anonymous GET on a connection of its own."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def _change(conn: asyncpg.Connection, kind: str, blog_id: int, n: int) -> bytes:
    """Commit one change to what the blog's page shows; the bytes that show it."""
    if kind == "title":
        await conn.execute("UPDATE blogs SET title = $2 WHERE id = $1", blog_id, f"stale {n}")
        return f'"title":"stale {n}"'.encode()
    if kind == "tag":
        await conn.execute(
            "WITH tag AS (INSERT INTO tags (name) VALUES ($2) ON CONFLICT (name) DO UPDATE "
            "SET name = EXCLUDED.name RETURNING id) INSERT INTO blog_tags "
            "(blog_id, tag_id, blog_created_at) SELECT b.id, tag.id, b.created_at "
            "FROM blogs AS b, tag WHERE b.id = $1",
            blog_id,
            f"stale-{n}",
        )
        return f'"stale-{n}"'.encode()
    if kind == "favorite":
        count = await conn.fetchval(
            "WITH added AS (INSERT INTO favorites (user_id, blog_id, blog_created_at) "
            "SELECT u.id, b.id, b.created_at FROM blogs AS b, users AS u "
            "WHERE b.id = $1 AND NOT EXISTS (SELECT FROM favorites AS f "
            "WHERE f.user_id = u.id AND f.blog_id = b.id) ORDER BY random() LIMIT 1 RETURNING 1) "
            "SELECT favorites_count + (SELECT count(*) FROM added) FROM blogs WHERE id = $1",
            blog_id,
        )
        return f'"favorites_count":{count},'.encode()
    await conn.execute(
        "UPDATE users SET name = $2 WHERE id = (SELECT user_id FROM blogs WHERE id = $1)",
        blog_id,
        f"Owner {n}",
    )
    return f'"name":"Owner {n}"'.encode()


async def _poll(
    port: int, path: str, shows: bytes, committed: float, bound: float, tally: Tally
) -> float:
    while True:
        started = time.monotonic()
        status, body = await _get(port, path)
        tally.reads += 1
        if status == 200 and shows in body:
            return max(time.monotonic() - committed, 0.0)
        if started - committed > bound:
            tally.stale_past_bound += 1
        if time.monotonic() - committed > 10:
            raise SystemExit(f"{path} did not show {shows!r} within 10 s")


async def _kill_listeners(conn: asyncpg.Connection) -> int:
    killed: int = await conn.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = 'blog-api-listener' AND datname = current_database()"
    )
    return killed


async def run(
    port: int, url: str, blog_ids: list[int], changes: int, bound: float
) -> dict[str, Any]:
    tally = Tally()
    killed_at = changes // 2
    killed = 0
    rng = random.Random(7)  # noqa: S311
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for n in range(changes):
            blog_id = rng.choice(blog_ids)
            path = f"/blogs/{blog_id}"
            # Fresh connections land on any worker, which stores a page at its second read:
            # twice the six reads used when a worker stored a page at its first.
            for _ in range(12):
                await _get(port, path)
            if n == killed_at:
                killed = await _kill_listeners(conn)
            kind = KINDS[n % len(KINDS)]
            shows = await _change(conn, kind, blog_id, n)
            committed = time.monotonic()
            tally.latencies[kind].append(await _poll(port, path, shows, committed, bound, tally))
    finally:
        await conn.close()
    every = sorted(x for values in tally.latencies.values() for x in values)

    def ms(values: list[float], q: float) -> float:
        return round(values[min(int(q * len(values)), len(values) - 1)] * 1000, 2)

    return {
        "changes": len(every),
        "p50_ms": ms(every, 0.5),
        "p99_ms": ms(every, 0.99),
        "max_ms": round(every[-1] * 1000, 2),
        "by_kind_p99_ms": {k: ms(sorted(v), 0.99) for k, v in tally.latencies.items() if v},
        "mean_ms": round(statistics.mean(every) * 1000, 2),
        "reads": tally.reads,
        "stale_reads_past_bound": tally.stale_past_bound,
        "bound_s": bound,
        "listeners_killed": killed,
    }


def _report(name: str, result: dict[str, Any]) -> None:
    print(
        f"{name}: {result['changes']} changes, commit to visible p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms; "
        f"{result['stale_reads_past_bound']} reads older than {result['bound_s']} s "
        f"(listeners killed halfway: {result['listeners_killed']}); "
        f"load average {' '.join(result['loadavg'])}",
        flush=True,
    )


def on_primary(args: argparse.Namespace) -> dict[str, Any]:
    url = data.bench_url()
    data.loopback_only(url)
    hot_ids()
    blog_ids = [int(line) for line in HOT_IDS.read_text().split()]
    with serving(url, args.workers) as port:
        result = asyncio.run(run(port, url, blog_ids, args.changes, args.bound))
    result["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    return result


def on_replica(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.replicas import streaming_replica

    with streaming_replica() as cluster:
        url = cluster.primary_url
        asyncio.run(migrations.migrate(url))
        subprocess.run(
            [sys.executable, "-m", "service", "seed", "--users", "1000", "--blogs", "20000"],
            cwd=data.ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        blog_ids = random.Random(1).sample(range(1, 20_001), 1_000)  # noqa: S311
        with serving(url, args.workers, DATABASE_REPLICA_URLS=cluster.replica_url) as port:
            result = asyncio.run(run(port, url, blog_ids, args.changes, args.bound))
    result["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bound", type=float, default=1.0, help="seconds (1)")
    parser.add_argument("--replica", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    name = "replica" if args.replica else "primary"
    result = on_replica(args) if args.replica else on_primary(args)
    _report(f"staleness ({name}, {args.workers} workers)", result)
    path = RESULTS / f"staleness-{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
