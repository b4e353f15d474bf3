"""The benchmark's database: created, seeded and analysed once, then reused."""

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from bench.variants.keyset import to_micros
from service.api.cursors import CursorCodec
from service.db.queries import BLOG_DETAIL, BLOGS_PAGE, Query
from service.db.urls import asyncpg_dsn
from service.models import MAX_ID

ROOT = Path(__file__).resolve().parent.parent
USERS = 10_000
BLOGS = 1_000_000
SEED = 1
E3_DEPTH = 20_000
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench"


def bench_url() -> str:
    """BENCH_DATABASE_URL when set, else DATABASE_URL's server with the database `bench`."""
    if explicit := os.environ.get("BENCH_DATABASE_URL"):
        return asyncpg_dsn(explicit)
    url = os.environ.get("DATABASE_URL")
    if not url:
        return DEFAULT_URL
    return urlsplit(asyncpg_dsn(url))._replace(path="/bench").geturl()


def loopback_only(url: str) -> None:
    host = urlsplit(url).hostname or "localhost"
    if host not in {"127.0.0.1", "::1", "localhost"} and not host.startswith("/"):
        raise SystemExit(f"the benchmark loads only loopback servers, not {host}")


async def ensure_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(urlsplit(url)._replace(path="/postgres").geturl())
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    finally:
        await admin.close()


async def tables_exist(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT to_regclass('blogs') IS NOT NULL"))
    finally:
        await conn.close()


async def seeded(url: str) -> bool:
    """Whether the database holds exactly the seeded data, ids from 1 up, with the tags,
    favorites, follows and comments the seed adds (a database seeded before it did is not)."""
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('blog_tags') IS NOT NULL"):
            return False
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM users) AS users, (SELECT max(id) FROM users) AS max_user,"
            " (SELECT count(*) FROM blogs) AS blogs, (SELECT max(id) FROM blogs) AS max_blog,"
            " EXISTS (SELECT FROM blog_tags) AND EXISTS (SELECT FROM favorites)"
            " AND EXISTS (SELECT FROM follows) AND EXISTS (SELECT FROM comments) AS extras"
        )
    finally:
        await conn.close()
    return row is not None and tuple(row) == (USERS, USERS, BLOGS, BLOGS, True)


def seed(url: str) -> None:
    command = [
        *(sys.executable, "-m", "service", "seed"),
        *("--users", str(USERS), "--blogs", str(BLOGS), "--seed", str(SEED), "--truncate"),
    ]
    print(f"seeding: {' '.join(command[1:])}")
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=900)  # noqa: S603


async def vacuum_analyze(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for table in ("users", "blogs", "tags", "blog_tags", "favorites", "follows", "comments"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()


@dataclass(frozen=True)
class Samples:
    """Requests whose answers every variant must agree on, byte for byte."""

    e3_cursor: str
    heavy_author: int
    light_author: int
    idle_author: int | None


async def samples(url: str, token_secret: str) -> Samples:
    conn = await asyncpg.connect(url)
    try:
        deep = await conn.fetchrow(
            "SELECT created_at, id FROM blogs ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
            E3_DEPTH - 1,
        )
        authors = await conn.fetch(
            "SELECT u.id, count(b.id) AS n FROM users AS u LEFT JOIN blogs AS b ON b.user_id = u.id"
            " GROUP BY u.id ORDER BY n DESC, u.id"
        )
    finally:
        await conn.close()
    light = [row["id"] for row in authors if 0 < row["n"] < 20]
    idle = [row["id"] for row in authors if row["n"] == 0]
    return Samples(
        e3_cursor=CursorCodec(token_secret).encode(to_micros(deep["created_at"]), deep["id"]),
        heavy_author=authors[0]["id"],
        light_author=light[0] if light else authors[-1]["id"],
        idle_author=idle[0] if idle else None,
    )


def _pgbench_script(query: Query, values: dict[str, str], preamble: str = "") -> str:
    sql = "\n".join(line for line in query.sql.splitlines() if not line.startswith("--"))
    sql = re.sub(r"\$(\d+)", lambda m: values[query.params[int(m[1]) - 1]], sql)
    return f"{preamble}{sql};\n"


# As the benchmark reads: anonymously.
ANONYMOUS = {"reader_id": "NULL", "reader_version": "NULL"}
PGBENCH_SCRIPTS = {
    "E1": _pgbench_script(
        BLOG_DETAIL, {"id": ":id", **ANONYMOUS}, f"\\set id random(1, {BLOGS})\n"
    ),
    "E2": _pgbench_script(
        BLOGS_PAGE,
        {
            "before_created_at": "'infinity'::timestamptz",
            "before_id": str(MAX_ID),
            "limit": "21",
            **ANONYMOUS,
        },
    ),
}


def pgbench(url: str, name: str, seconds: int, clients: int = 32) -> dict[str, float]:
    """The database alone answering endpoint `name`'s SQL: pgbench, prepared statements."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix=f"bench-{name}-") as script:
        script.write(PGBENCH_SCRIPTS[name])
        script.flush()
        command = [
            *("pgbench", "-f", script.name, f"-c{clients}", "-j1", f"-T{seconds}", "-n"),
            *("-M", "prepared", asyncpg_dsn(url)),
        ]
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed: {done.stderr.strip()}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if tps is None or latency is None:
        raise SystemExit(f"cannot read pgbench's output:\n{done.stdout}")
    return {"tps": float(tps[1]), "latency_avg_ms": float(latency[1]), "clients": clients}
