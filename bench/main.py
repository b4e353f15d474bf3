"""The read benchmark: see bench/README.md."""

import argparse
import asyncio
import json
import platform
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import data, platform_reads, plot, pyspy, writes
from bench.load import Run, Target, get, measure, require_wrk, wrk
from bench.servers import TOKEN_SECRET, VARIANTS, Server, own_database, parse, without_times

RESULTS = Path(__file__).resolve().parent / "results"
READS = ("E1", "E1H", "E2", "E3", "E4")
ENDPOINTS = READS + writes.WRITE_ENDPOINTS
PAGE = "limit=20"
HOT_BLOGS = 1_000
HOT_IDS = RESULTS / "hot-ids.txt"


def hot_ids() -> Path:
    """E1H's hot set: 1,000 blog ids drawn at random (the same ones every run), one a line."""
    RESULTS.mkdir(exist_ok=True)
    drawn = random.Random(data.SEED).sample(range(1, data.BLOGS + 1), HOT_BLOGS)  # noqa: S311
    HOT_IDS.write_text("".join(f"{blog_id}\n" for blog_id in drawn))
    return HOT_IDS


def cache_lookups(server: Server) -> tuple[float, float] | None:
    """The read cache's hits and misses so far, from the server's /metrics (ours only)."""
    if server.spec.base != "ours":
        return None
    status, body = get(server.port, "/metrics")
    if status != 200:
        return None
    found = {"hit": 0.0, "miss": 0.0}
    for line in body.decode().splitlines():
        if line.startswith("blog_api_read_cache_lookups_total{"):
            labels, _, value = line.rpartition(" ")
            for result in found:
                if f'result="{result}"' in labels:
                    found[result] = float(value)
    return found["hit"], found["miss"]


def hit_ratio(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> float | None:
    if before is None or after is None:
        return None
    hits, misses = after[0] - before[0], after[1] - before[1]
    return hits / (hits + misses) if hits + misses else None


def targets(samples: data.Samples) -> dict[str, list[Target]]:
    return {
        "E1": [Target("/blogs/{id}", data.BLOGS)],
        "E1H": [Target("/blogs/{slug}", slugs=str(hot_ids()))],
        "E2": [Target(f"/blogs?{PAGE}")],
        "E3": [Target(f"/blogs?{PAGE}&cursor={samples.e3_cursor}")],
        "E4": [Target(f"/users/{{id}}/blogs?{PAGE}", data.USERS)],
    }


def _commit() -> str:
    """The code measured as ours: the checked-out commit, marked when the tree has changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown"
    describe = [git, "-C", str(data.ROOT), "describe", "--always", "--dirty"]
    done = subprocess.run(describe, capture_output=True, text=True, check=False)  # noqa: S603
    return done.stdout.strip() or "unknown"


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (x.split(":", 1)[1].strip() for x in cpuinfo.splitlines() if "model name" in x), ""
    )
    wrk_version = subprocess.run(  # noqa: S603
        [shutil.which("wrk") or "wrk", "-v"], capture_output=True, text=True, check=False
    )
    return {
        "nproc": len([x for x in cpuinfo.splitlines() if x.startswith("processor")]),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0].strip(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "commit": _commit(),
    }


def prepare_database(url: str) -> data.Samples:
    asyncio.run(data.ensure_database(url))
    if asyncio.run(data.tables_exist(url)) and (leftover := writes.reset(url)):
        print(f"database: deleted {leftover:,} blogs an earlier write run left behind")
    if asyncio.run(data.seeded(url)):
        print(f"database: already seeded with {data.USERS:,} users and {data.BLOGS:,} blogs")
    else:
        data.seed(url)
    asyncio.run(data.vacuum_analyze(url))
    return asyncio.run(data.samples(url, TOKEN_SECRET))


def start(variants: list[str], url: str, base_port: int, log_dir: Path) -> list[Server]:
    servers = [Server(v, base_port + i, url) for i, v in enumerate(variants)]
    try:
        for server in servers:
            server.start(log_dir)
        for server in servers:
            server.wait_ready("/blogs/1")
    except BaseException:
        # One that does not start stops them all.
        for server in servers:
            server.stop()
        raise
    return servers


def _comparable(variant: str, path: str, got: tuple[int, bytes]) -> tuple[int, Any]:
    """What must match: the bytes; for ours at another commit, whose cursors were signed with
    another key, the JSON less next_cursor (and pages after the first are not asked), and, when
    it has a database of its own, less the timestamps (the seed dates rows back from its start)."""
    if not parse(variant).rev:
        return got
    status, body = got
    content = json.loads(body)
    if isinstance(content, dict):
        content.pop("next_cursor", None)
    if own_database(variant):
        content = without_times(content)
    return status, content


def check_identical(servers: list[Server], samples: data.Samples) -> int:
    """Fetch the same requests from every variant; any byte of difference is fatal."""
    blog_ids = [1, data.BLOGS, data.BLOGS + 1, *(secrets.randbelow(data.BLOGS) + 1 for _ in "abc")]
    users = [samples.heavy_author, samples.light_author, data.USERS + 1]
    users += [samples.idle_author] if samples.idle_author else []
    users += [secrets.randbelow(data.USERS) + 1 for _ in "abc"]
    paths = [f"/blogs/{i}" for i in blog_ids]
    paths += [f"/blogs?{PAGE}", f"/blogs?{PAGE}&cursor={samples.e3_cursor}"]
    paths += [f"/users/{u}/blogs?{PAGE}" for u in users]
    reference = servers[0]
    for path in list(paths):
        status, body = get(reference.port, path)
        if status == 200 and (cursor := json.loads(body).get("next_cursor")):
            paths.append(f"{path.split('&cursor=')[0]}&cursor={cursor}")
    checked = 0
    for path in paths:
        expected = get(reference.port, path)
        for server in servers[1:]:
            if parse(server.variant).rev and "cursor=" in path:
                continue
            got = get(server.port, path)
            checked += 1
            if _comparable(server.variant, path, got) != _comparable(
                server.variant, path, expected
            ):
                at = next(
                    (
                        i
                        for i, (a, b) in enumerate(zip(got[1], expected[1], strict=False))
                        if a != b
                    ),
                    min(len(got[1]), len(expected[1])),
                )
                raise SystemExit(
                    f"{server.variant} differs from {reference.variant} on GET {path}: "
                    f"status {got[0]} vs {expected[0]}, first difference at byte {at}:\n"
                    f"  {server.variant}: {got[1][max(0, at - 60) : at + 60]!r}\n"
                    f"  {reference.variant}: {expected[1][max(0, at - 60) : at + 60]!r}"
                )
    return checked


def ratio(value: float, reference: float) -> float:
    return value / reference if reference else float("nan")


def summarize(runs: dict[str, dict[str, list[Run]]], variants: list[str]) -> list[dict[str, Any]]:
    rows = []
    for endpoint in runs:
        medians = {
            v: {
                "rps": statistics.median(r.rps for r in runs[endpoint][v]),
                "p50_ms": statistics.median(r.p50_ms for r in runs[endpoint][v]),
                "p99_ms": statistics.median(r.p99_ms for r in runs[endpoint][v]),
                "cpu_us": statistics.median(r.cpu_us for r in runs[endpoint][v]),
            }
            for v in variants
        }
        ours = medians[variants[0]]
        for v in variants:
            m = medians[v]
            rows.append(
                {
                    "endpoint": endpoint,
                    "variant": v,
                    **m,
                    "rps_x": ratio(m["rps"], ours["rps"]),
                    "p50_x": ratio(m["p50_ms"], ours["p50_ms"]),
                    "p99_x": ratio(m["p99_ms"], ours["p99_ms"]),
                    "cpu_x": ratio(m["cpu_us"], ours["cpu_us"]),
                    "rounds_rps": [round(r.rps, 1) for r in runs[endpoint][v]],
                    "timeouts": sum(r.timeouts for r in runs[endpoint][v]),
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]], rss: dict[str, dict[str, float]]) -> None:
    w = max(10, *(len(row["variant"]) for row in rows))
    header = f"{'':4} {'variant':{w}} {'req/s':>8} {'x ours':>7} {'p50 ms':>8} {'x ours':>7}"
    print(f"\n{header} {'p99 ms':>8} {'x ours':>7} {'CPU us':>7} {'x ours':>7}")
    for row in rows:
        print(
            f"{row['endpoint']:4} {row['variant']:{w}} {row['rps']:8,.0f} {row['rps_x']:7.2f} "
            f"{row['p50_ms']:8.2f} {row['p50_x']:7.2f} {row['p99_ms']:8.2f} {row['p99_x']:7.2f} "
            f"{row['cpu_us']:7.0f} {row['cpu_x']:7.2f}"
        )
    print(f"\n{'RSS MiB':{w}} {'before':>8} {'after':>8}")
    for variant, values in rss.items():
        print(f"{variant:{w}} {values['before']:8.1f} {values['after']:8.1f}")


def write(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def writers(args: argparse.Namespace, url: str) -> writes.Writers | None:
    """Tokens for the write endpoints, when any is asked for."""
    if not set(args.endpoints) & set(writes.WRITE_ENDPOINTS):
        return None
    return asyncio.run(writes.writers(url, TOKEN_SECRET))


def check_all(
    servers: list[Server],
    samples: data.Samples,
    url: str,
    who: writes.Writers | None,
    *,
    deletes: bool = False,
) -> dict[str, int]:
    """Every variant answers like the first, reads and (with `who`) writes; fatal otherwise."""
    for database in {server.database for server in servers} - {url}:
        writes.reset(database)  # what an interrupted write run left in a variant's own database
    checked = {"reads": check_identical(servers, samples)}
    print(f"identical JSON from {len(servers)} variants on {checked['reads']} requests")
    if who is not None:
        checked["writes"] = writes.check(servers, url, who, deletes=deletes)
        print(
            f"writes: the same statuses, bodies (less ids, slugs and timestamps) and ETags from "
            f"{len(servers)} variants on {checked['writes']} requests"
        )
    return checked


def check_only(args: argparse.Namespace, url: str, samples: data.Samples) -> dict[str, Any]:
    """Start the variants, check their answers as a full run does first, and stop."""
    who = writers(args, url)
    servers = start(args.variants, url, args.base_port, RESULTS)
    try:
        return {"checked": check_all(servers, samples, url, who, deletes="W4" in args.endpoints)}
    finally:
        for server in servers:
            server.stop()
        if who is not None:
            writes.reset(url)


def full(args: argparse.Namespace, url: str, samples: data.Samples) -> dict[str, Any]:
    ceilings = {}
    if args.pgbench_seconds and not shutil.which("pgbench"):
        print("pgbench is not installed (it comes with PostgreSQL): no database-only ceiling")
    elif args.pgbench_seconds:
        for name in data.PGBENCH_SCRIPTS:
            ceilings[name] = data.pgbench(url, name, args.pgbench_seconds, args.connections)
            print(
                f"pgbench {name}: {ceilings[name]['tps']:,.0f} tps, "
                f"{ceilings[name]['latency_avg_ms']:.2f} ms average"
            )
    variants: list[str] = args.variants
    plan = targets(samples)
    who = writers(args, url)
    servers = start(variants, url, args.base_port, RESULTS)
    loads: list[list[str]] = []
    try:
        rss = {s.variant: {"before": s.rss_mib()} for s in servers}
        check_all(servers, samples, url, who, deletes="W4" in args.endpoints)
        runs: dict[str, dict[str, list[Run]]] = {
            e: {v: [] for v in variants} for e in args.endpoints
        }
        ratios: dict[str, dict[str, list[float | None]]] = {
            e: {v: [] for v in variants} for e in args.endpoints
        }
        w = max(9, *(len(v) for v in variants))
        for round_ in range(args.rounds):
            for endpoint in args.endpoints:
                # Rotate the order every round, so no variant always follows the same one.
                shift = round_ % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    target = plan.get(endpoint) or writes.plan(endpoint, server.database, who)  # type: ignore[arg-type]
                    before = cache_lookups(server)
                    run = measure(server, target, args)
                    ratio_ = hit_ratio(before, cache_lookups(server))
                    runs[endpoint][server.variant].append(run)
                    ratios[endpoint][server.variant].append(ratio_)
                    print(
                        f"round {round_ + 1} {endpoint} {server.variant:{w}} {run.rps:8,.0f} req/s "
                        f"p50 {run.p50_ms:6.2f} ms p99 {run.p99_ms:6.2f} ms "
                        f"CPU {run.cpu_us:5.0f} us/request"
                        + (f" ({run.timeouts} over 5 s)" if run.timeouts else "")
                        + ("" if ratio_ is None else f" cache hits {ratio_:.1%}"),
                        flush=True,
                    )
            loads.append(Path("/proc/loadavg").read_text().split()[:3])
            print(f"round {round_ + 1} done; load average {' '.join(loads[-1])}", flush=True)
        for server in servers:
            rss[server.variant]["after"] = server.rss_mib()
    finally:
        for server in servers:
            server.stop()
        if who is not None:
            for database in {url, *(server.database for server in servers)}:
                writes.reset(database)
    rows = summarize(runs, variants)
    if ceilings:
        print("\ndatabase-only ceiling (pgbench, prepared, random ids for E1):")
        for name, ceiling in ceilings.items():
            print(
                f"  {name}: {ceiling['tps']:,.0f} tps, {ceiling['latency_avg_ms']:.2f} ms average"
            )
    print_table(rows, rss)
    return {
        "results": rows,
        "rss_mib": rss,
        "pgbench": ceilings,
        "loadavg_by_round": loads,
        "cache_hit_ratio": ratios,
    }


def rss_check(args: argparse.Namespace, url: str, samples: data.Samples) -> dict[str, Any]:
    """RSS of `ours` after a warm-up, then every 10 s of mixed load until `--rss-requests`."""
    mixed = [t for ts in targets(samples).values() for t in ts]
    [server] = start(["ours"], url, args.base_port, RESULTS)
    try:
        points = [{"requests": 0, "rss_mib": server.rss_mib()}]
        warm = wrk(server.port, mixed, seconds=max(args.warmup, 5), connections=args.connections)
        points.append({"requests": warm.requests, "rss_mib": server.rss_mib()})
        done = 0
        deadline = time.monotonic() + 900
        while done < args.rss_requests and time.monotonic() < deadline:
            done += wrk(server.port, mixed, seconds=10, connections=args.connections).requests
            points.append({"requests": warm.requests + done, "rss_mib": server.rss_mib()})
    finally:
        server.stop()
    for point in points:
        print(f"after {point['requests']:>9,} requests: RSS {point['rss_mib']:7.1f} MiB")
    growth = points[-1]["rss_mib"] - points[1]["rss_mib"]
    print(f"{done:,} requests after the warm-up: RSS {growth:+.1f} MiB")
    return {"points": points, "requests_after_warmup": done, "growth_mib": growth}


def _platform_endpoints(names: str) -> list[str]:
    chosen = names.split(",")
    if unknown := set(chosen) - set(platform_reads.NAMES):
        raise argparse.ArgumentTypeError(f"{sorted(unknown)}: not in {platform_reads.NAMES}")
    return chosen


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=int, default=10, help="each timed wrk run (10)")
    p.add_argument("--warmup", type=int, default=2, help="an untimed wrk run before each (2)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    p.add_argument(
        "--endpoints",
        type=lambda s: s.split(","),
        default=list(READS + writes.DEFAULT_WRITE_ENDPOINTS),
        help="E1-E4, W1-W3 by default; W4 (DELETE /blogs/{id}) when asked for, ours only",
    )
    p.add_argument("--pgbench-seconds", type=int, default=10, help="0 skips the ceiling")
    p.add_argument("--base-port", type=int, default=18_301)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="only check that every variant answers like ours (no timing, nothing written)",
    )
    mode.add_argument("--rss", action="store_true", help="only the RSS check of ours")
    mode.add_argument("--profile", choices=READS, help="only profile ours under load")
    mode.add_argument(
        "--platform",
        nargs="?",
        const=",".join(platform_reads.NAMES),
        type=_platform_endpoints,
        help="only ours on the platform's reads (all of them, or those named: P1,R4)",
    )
    p.add_argument("--rss-requests", type=int, default=100_000)
    p.add_argument("--profile-seconds", type=int, default=20)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A plain SIGTERM would skip the `finally` blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        specs = [parse(v) for v in args.variants]
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if set(args.endpoints) - set(ENDPOINTS) or specs[0].base != "ours":
        raise SystemExit(f"variants from {VARIANTS} with ours first; endpoints from {ENDPOINTS}")
    # The platform's reads ask no cursor; its tokens are signed for the database's deployment.
    if not args.platform and any(s.rev for s in specs) and set(args.endpoints) & {"E3", "E4"}:
        raise SystemExit("ours at another commit: not E3 or E4 (its cursors are signed apart)")
    if "W4" in args.endpoints and any(s.base != "ours" for s in specs):
        raise SystemExit("W4: only ours serves DELETE /blogs/{id}")
    if len(set(args.variants)) != len(args.variants):
        raise SystemExit("each variant once")
    if not args.check:
        require_wrk()
    url = data.bench_url()
    data.loopback_only(url)
    RESULTS.mkdir(exist_ok=True)
    started = time.monotonic()
    samples = prepare_database(url)
    if args.check:
        check_only(args, url, samples)
        print(f"checked in {time.monotonic() - started:.0f}s")
        return 0
    config = {k: v for k, v in vars(args).items()}
    result: dict[str, Any] = {"machine": machine(), "config": config}
    if args.rss:
        result |= rss_check(args, url, samples)
        name = "rss"
    elif args.profile:
        # Ours, or the first of --variants (ours with other settings, or at another commit).
        [server] = start(args.variants[:1], url, args.base_port, RESULTS)
        try:
            result |= pyspy.profile(server, targets(samples)[args.profile], args, RESULTS)
        finally:
            server.stop()
        name = f"profile-{args.profile}"
    elif args.platform:
        result |= platform_reads.run(args, url, RESULTS)
        name = "platform"
    else:
        result |= full(args, url, samples)
        name = "reads"
    result["seconds"] = round(time.monotonic() - started, 1)
    result["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    path = write(name, result)
    print(f"\nwrote {path} after {result['seconds']:.0f}s")
    if name == "reads":
        print(f"drew {plot.draw(result, path.with_suffix('.png'))}")
    return 0
