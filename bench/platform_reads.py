"""The platform's reads: the lists, the feed and single blogs, natively and under /api (the
RealWorld API), anonymously and signed in: requests per second, p99 and CPU per request under
load, and SQL statements per request counted at the wire (bench/statements.py).

Only ours, at this checkout or others (`--variants ours,ours@REV`): the other variants serve
neither the feed nor /api. Each variant's statements are counted on a server of its own.
"""

import argparse
import asyncio
import secrets
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import data, writes
from bench.load import Run, Target, measure, request
from bench.servers import TOKEN_SECRET, Server, parse
from bench.statements import StatementCounter

PAGE = "limit=20"
# Signed-in readers: the users who follow the most authors (the feed's heaviest readers).
READERS = 8
SLUGS = 10_000
# Requests per endpoint and reader whose statements are counted.
COUNTED = 40


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    what: str
    signed_in_only: bool = False

    @property
    def realworld(self) -> bool:
        return self.path.startswith("/api/")


ENDPOINTS = (
    Endpoint("P1", f"/blogs?{PAGE}", "the first page of blogs"),
    Endpoint("P2", f"/blogs?tag={{tag}}&{PAGE}", "the first page of the most used tag"),
    Endpoint("P3", f"/feed?{PAGE}", "the first page of the reader's feed", signed_in_only=True),
    Endpoint("P4", "/blogs/{id}", "a random blog"),
    Endpoint("P5", f"/blogs/{{id}}/comments?{PAGE}", "a random blog's first page of comments"),
    Endpoint("R1", f"/api/articles?{PAGE}", "the first page of articles"),
    Endpoint("R2", f"/api/articles?tag={{tag}}&{PAGE}", "the first page of the most used tag"),
    Endpoint("R3", f"/api/articles/feed?{PAGE}", "the reader's feed", signed_in_only=True),
    Endpoint("R4", "/api/articles/{slug}", "a random article"),
    Endpoint("R5", "/api/articles/{slug}/comments", "a random article's comments"),
)
NAMES = tuple(e.name for e in ENDPOINTS)
MODES = ("anonymous", "signed in")


@dataclass(frozen=True)
class Fixture:
    tag: str
    slugs: Path
    tokens: tuple[str, ...]


async def _fixture(url: str, results: Path) -> Fixture:
    conn = await asyncpg.connect(url)
    try:
        tag = await conn.fetchval("SELECT name FROM tags ORDER BY blog_count DESC, name LIMIT 1")
        ids = [secrets.randbelow(data.BLOGS) + 1 for _ in range(SLUGS)]
        slugs = await conn.fetch("SELECT slug FROM blogs WHERE id = ANY($1::bigint[])", ids)
        readers = await conn.fetch(
            "SELECT follower_id AS id FROM follows GROUP BY follower_id"
            " ORDER BY count(*) DESC, follower_id LIMIT $1",
            READERS,
        )
        tokens = await writes.sign(conn, TOKEN_SECRET, [row["id"] for row in readers])
    finally:
        await conn.close()
    path = results / "slugs.txt"
    path.write_text("".join(f"{row['slug']}\n" for row in slugs))
    return Fixture(tag=tag, slugs=path, tokens=tokens)


def _target(endpoint: Endpoint, mode: str, fixture: Fixture) -> Target:
    scheme = "Token" if endpoint.realworld else "Bearer"
    return Target(
        endpoint.path.replace("{tag}", fixture.tag),
        max_id=data.BLOGS,
        slugs=str(fixture.slugs) if "{slug}" in endpoint.path else "",
        authorization=tuple(f"{scheme} {t}" for t in fixture.tokens) if mode != MODES[0] else (),
    )


def _one(target: Target, slugs: list[str]) -> tuple[str, dict[str, str]]:
    """One concrete request of a target, as wrk.lua would make it."""
    path = target.path.replace("{id}", str(secrets.randbelow(target.max_id) + 1), 1)
    path = path.replace("{slug}", secrets.choice(slugs), 1) if slugs else path
    if not target.authorization:
        return path, {}
    return path, {"Authorization": secrets.choice(target.authorization)}


def count_statements(
    server: Server, counter: StatementCounter, target: Target, slugs: list[str]
) -> float:
    """SQL statements per request, over COUNTED requests one at a time; each must be a 200."""
    for _ in range(3):  # the pool's connections made and the statements prepared
        request(server.port, "GET", *_one(target, slugs))
    with counter.counting() as counted:
        for _ in range(COUNTED):
            path, headers = _one(target, slugs)
            status, _, body = request(server.port, "GET", path, headers)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
    return counted[0] / COUNTED


def _row(
    variant: str, endpoint: Endpoint, mode: str, runs: list[Run], statements: float
) -> dict[str, Any]:
    return {
        "variant": variant,
        "endpoint": endpoint.name,
        "path": endpoint.path,
        "mode": mode,
        "rps": statistics.median(r.rps for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "cpu_us": statistics.median(r.cpu_us for r in runs),
        "statements_per_request": statements,
        "rounds_rps": [round(r.rps, 1) for r in runs],
        "timeouts": sum(r.timeouts for r in runs),
    }


def variants(args: argparse.Namespace) -> list[str]:
    """The --variants that are ours (at this checkout, another commit, other settings): only
    ours serves these reads. Without any, ours."""
    return [v for v in args.variants if parse(v).base == "ours"] or ["ours"]


def run(args: argparse.Namespace, url: str, results: Path) -> dict[str, Any]:
    chosen = [e for e in ENDPOINTS if e.name in args.platform]
    served = variants(args)
    fixture = asyncio.run(_fixture(url, results))
    slugs = fixture.slugs.read_text().split()
    plan = [(e, m) for e in chosen for m in MODES if m == MODES[1] or not e.signed_in_only]
    targets = {(e.name, m): _target(e, m, fixture) for e, m in plan}
    counter = StatementCounter(url)
    counter.start()
    timed = {v: Server(v, args.base_port + 2 * i, url) for i, v in enumerate(served)}
    statements: dict[tuple[str, str, str], float] = {}
    try:
        (results / "counted").mkdir(exist_ok=True)
        for i, variant in enumerate(served):
            # One counted server at a time, so the proxy counts that one's statements alone.
            counted = Server(variant, args.base_port + 2 * i + 1, counter.url)
            try:
                counted.start(results / "counted")
                counted.wait_ready("/blogs/1")
                for (name, mode), target in targets.items():
                    value = count_statements(counted, counter, target, slugs)
                    statements[(variant, name, mode)] = value
                    print(f"{variant} {name} {mode:9} {value:5.2f} statements per request")
            finally:
                counted.stop()
        for server in timed.values():
            server.start(results)
        for server in timed.values():
            server.wait_ready("/blogs/1")
        runs: dict[tuple[str, str, str], list[Run]] = {
            (v, name, mode): [] for v in served for name, mode in targets
        }
        for round_ in range(args.rounds):
            for endpoint, mode in plan:
                shift = round_ % len(served)  # each variant first in turn
                for variant in served[shift:] + served[:shift]:
                    done = measure(timed[variant], [targets[(endpoint.name, mode)]], args)
                    runs[(variant, endpoint.name, mode)].append(done)
                    print(
                        f"round {round_ + 1} {variant} {endpoint.name} {mode:9} "
                        f"{done.rps:8,.0f} req/s p50 {done.p50_ms:6.2f} ms "
                        f"p99 {done.p99_ms:6.2f} ms CPU {done.cpu_us:5.0f} us/request",
                        flush=True,
                    )
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(f"round {round_ + 1} done; load average {load}", flush=True)
    finally:
        for server in timed.values():
            server.stop()
        counter.stop()
    rows = [
        _row(v, e, m, runs[(v, e.name, m)], statements[(v, e.name, m)])
        for e, m in plan
        for v in served
    ]
    print_table(rows)
    return {"platform": rows, "tag": fixture.tag, "readers": READERS, "variants": served}


def print_table(rows: list[dict[str, Any]]) -> None:
    """One row per request, reader and variant; `x first` is req/s over the first variant's."""
    width = max(len(row["path"]) for row in rows)
    named = max(len(row.get("variant", "ours")) for row in rows)
    first = {
        (row["endpoint"], row["mode"]): row["rps"]
        for row in reversed(rows)  # the first variant's row wins
    }
    print(
        f"\n{'':3} {'request':{width}} {'reader':9} {'variant':{named}} {'req/s':>7}"
        f" {'x first':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU us':>7} {'SQL/req':>7}"
    )
    for row in rows:
        ratio = row["rps"] / first[(row["endpoint"], row["mode"])]
        print(
            f"{row['endpoint']:3} {row['path']:{width}} {row['mode']:9} "
            f"{row.get('variant', 'ours'):{named}} {row['rps']:7,.0f} {ratio:7.3f} "
            f"{row['p50_ms']:7.2f} {row['p99_ms']:7.2f} {row['cpu_us']:7.0f} "
            f"{row['statements_per_request']:7.2f}"
        )
