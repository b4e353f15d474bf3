"""Anonymous hot reads with writes to them, cached and not, in one run.

`python bench/mixed.py [--rounds 3] [--seconds 10] [--workers 2]`: ours with the read cache and
ours with READ_CACHE=false, each with `--workers` workers on the benchmark's database, take turns
under `wrk -t1 -c32` with bench/wrk_mixed.lua: 95% anonymous `GET /blogs/{id}` over E1H's hot set
of 1,000 blogs, 5% `PATCH /blogs/{id}` of a new title by the blog's owner. Each round prints
requests per second, p50, p99 and the cache's hit ratio (from /metrics), with the load average;
the medians over the rounds end it.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

# Run as a script, this directory would come first on sys.path; the project root must instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import data, writes  # noqa: E402
from bench.load import require_wrk  # noqa: E402
from bench.main import HOT_IDS, RESULTS, cache_lookups, hit_ratio, hot_ids  # noqa: E402
from bench.servers import HOST, TOKEN_SECRET, Server  # noqa: E402

LUA = Path(__file__).resolve().parent / "wrk_mixed.lua"
MIXED = RESULTS / "mixed-blogs.txt"


async def _owners(url: str, blog_ids: list[int]) -> None:
    """The hot set with each blog's owner's token, for bench/wrk_mixed.lua."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id, user_id FROM blogs WHERE id = ANY($1::bigint[]) ORDER BY id", blog_ids
        )
        owners = sorted({row["user_id"] for row in rows})
        tokens = dict(zip(owners, await writes.sign(conn, TOKEN_SECRET, owners), strict=True))
    finally:
        await conn.close()
    MIXED.write_text("".join(f"{row['id']} {tokens[row['user_id']]}\n" for row in rows))


def _wrk(port: int, seconds: int, share: float) -> dict[str, Any]:
    env = {**os.environ, "BENCH_MIXED": str(MIXED), "BENCH_WRITE_SHARE": str(share)}
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "5s", "-s", str(LUA)]
    done = subprocess.run(  # noqa: S603
        [*command, f"http://{HOST}:{port}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 60,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    if result["non_2xx"] or result["connect_errors"] or result["read_errors"]:
        raise SystemExit(f"wrk saw failures: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-share", type=float, default=0.05)
    parser.add_argument("--base-port", type=int, default=18_401)
    args = parser.parse_args()
    require_wrk()
    url = data.bench_url()
    data.loopback_only(url)
    hot_ids()
    asyncio.run(_owners(url, [int(x) for x in HOT_IDS.read_text().split()]))
    workers = f"+WORKERS={args.workers}+WRITE_MAX_PER_USER=1000000000"
    variants = [f"ours{workers}", f"ours{workers}+READ_CACHE=false"]
    servers = [Server(v, args.base_port + i, url) for i, v in enumerate(variants)]
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    try:
        for server in servers:
            server.start(RESULTS)
        for server in servers:
            server.wait_ready("/blogs/1")
        for round_ in range(args.rounds):
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                _wrk(server.port, 2, args.write_share)  # warm-up
                before = cache_lookups(server)
                run = _wrk(server.port, args.seconds, args.write_share)
                ratio = hit_ratio(before, cache_lookups(server))
                run |= {
                    "rps": run["requests"] / (run["duration_us"] / 1e6),
                    "hit_ratio": ratio,
                    "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                }
                results[server.variant].append(run)
                print(
                    f"round {round_ + 1} {server.variant:50} {run['rps']:8,.0f} req/s "
                    f"p50 {run['p50_us'] / 1000:6.2f} ms p99 {run['p99_us'] / 1000:6.2f} ms"
                    + ("" if ratio is None else f" cache hits {ratio:.1%}")
                    + f" load {' '.join(run['loadavg'])}",
                    flush=True,
                )
    finally:
        for server in servers:
            server.stop()
        writes.reset(url)
    print()
    for variant, runs in results.items():
        print(
            f"median {variant:50} {statistics.median(r['rps'] for r in runs):8,.0f} req/s "
            f"p99 {statistics.median(r['p99_us'] for r in runs) / 1000:6.2f} ms"
        )
    path = RESULTS / f"mixed-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
