"""The platform's reads: the lists, the feed and single blogs, natively and under /api (the
RealWorld API), anonymously and signed in: requests per second, p99 and CPU per request under
load, and SQL statements per request counted at the wire (bench/statements.py).

Only ours: the other variants serve neither the feed nor /api.
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
from bench.servers import TOKEN_SECRET, Server
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


def _row(endpoint: Endpoint, mode: str, runs: list[Run], statements: float) -> dict[str, Any]:
    return {
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


def run(args: argparse.Namespace, url: str, results: Path) -> dict[str, Any]:
    chosen = [e for e in ENDPOINTS if e.name in args.platform]
    fixture = asyncio.run(_fixture(url, results))
    slugs = fixture.slugs.read_text().split()
    plan = [(e, m) for e in chosen for m in MODES if m == MODES[1] or not e.signed_in_only]
    targets = {(e.name, m): _target(e, m, fixture) for e, m in plan}
    counter = StatementCounter(url)
    counter.start()
    timed = Server("ours", args.base_port, url)
    counted = Server("ours", args.base_port + 1, counter.url)
    try:
        timed.start(results)
        (results / "counted").mkdir(exist_ok=True)
        counted.start(results / "counted")
        for server in (timed, counted):
            server.wait_ready("/blogs/1")
        statements = {
            key: count_statements(counted, counter, target, slugs)
            for key, target in targets.items()
        }
        counted.stop()
        for (name, mode), value in statements.items():
            print(f"{name} {mode:9} {value:5.2f} statements per request", flush=True)
        runs: dict[tuple[str, str], list[Run]] = {key: [] for key in targets}
        for round_ in range(args.rounds):
            for endpoint, mode in plan:
                done = measure(timed, [targets[(endpoint.name, mode)]], args)
                runs[(endpoint.name, mode)].append(done)
                print(
                    f"round {round_ + 1} {endpoint.name} {mode:9} {done.rps:8,.0f} req/s "
                    f"p50 {done.p50_ms:6.2f} ms p99 {done.p99_ms:6.2f} ms "
                    f"CPU {done.cpu_us:5.0f} us/request",
                    flush=True,
                )
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(f"round {round_ + 1} done; load average {load}", flush=True)
    finally:
        timed.stop()
        counted.stop()
        counter.stop()
    rows = [_row(e, m, runs[(e.name, m)], statements[(e.name, m)]) for e, m in plan]
    print_table(rows)
    return {"platform": rows, "tag": fixture.tag, "readers": READERS}


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(row["path"]) for row in rows)
    print(
        f"\n{'':3} {'request':{width}} {'reader':9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'CPU us':>7} {'SQL/req':>7}"
    )
    for row in rows:
        print(
            f"{row['endpoint']:3} {row['path']:{width}} {row['mode']:9} {row['rps']:7,.0f} "
            f"{row['p50_ms']:7.2f} {row['p99_ms']:7.2f} {row['cpu_us']:7.0f} "
            f"{row['statements_per_request']:7.2f}"
        )
