"""`python bench/abuse.py`: the service under a sign-up and login flood, and search at scale.

1. Flood. One worker of `python -m service serve` (default settings) on its own database, seeded
   with 10,000 users and --blogs blogs (1,000,000; 50,000 with --quick) and reused while its
   counts are right. After a warm-up, wrk reads `GET /blogs/{random id}` over 8 connections for
   --seconds alone (idle), then again while 200 clients sign up with distinct emails and 200 log
   in to seeded accounts with wrong passwords, each in a loop: send, read the answer, send again
   (flood). Reported: read latency and throughput idle vs flood, every status the flooders got,
   any 5xx other than 503 and any 503 without Retry-After, and the peak RSS of the server
   process and its children (sampled every 100 ms) in each phase. `rate_limits` is emptied
   before each phase.
2. Search. A made-up word is appended to the titles of 5 blogs and another to 1% of them (spread
   over the ids; idempotent), then VACUUM ANALYZE blogs. `GET /blogs?q=...&limit=20` is timed
   sequentially for the rare word, the 1% word, the most common seeded word, a quoted phrase and
   the common word's second page, each next to EXPLAIN (ANALYZE, BUFFERS) of the statement
   behind it (sql/queries/blogs_search.sql, custom plan, the same parameters).

Everything is printed and written to bench/results/abuse-<time>.json; the server's log goes to
bench/results/abuse/ours.log. Traffic goes to 127.0.0.1 only; the server is stopped at the end,
on Ctrl+C and on errors. --profile adds a py-spy record of the server during the flood.
"""

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

# Run as a script, this directory would come first on sys.path; the project root must instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncpg  # noqa: E402

from bench import data, pyspy  # noqa: E402
from bench.load import require_wrk  # noqa: E402
from bench.main import RESULTS, machine, write  # noqa: E402
from bench.servers import HOST, ROOT, TOKEN_SECRET, Server  # noqa: E402
from service.api.cursors import CursorCodec  # noqa: E402
from service.blogs import SEARCH_INDEX_MAX_ROWS, SEARCH_WINDOW  # noqa: E402
from service.cli.seed import SEED_PASSWORD, WORDS  # noqa: E402
from service.db.queries import BLOGS_SEARCH  # noqa: E402
from service.models import MAX_ID  # noqa: E402
from service.timestamps import from_micros  # noqa: E402

FULL_BLOGS = 1_000_000
QUICK_BLOGS = 50_000
USERS = data.USERS
SEED = data.SEED
SEARCH_CONFIG = "simple"  # the service's default SEARCH_CONFIG

# Made-up words planted in titles: one in 5 blogs, one in 1% of them.
RARE_WORD = "zorblaxite"
ONE_PERCENT_WORD = "quillimar"
RARE_COUNT = 5
ONE_PERCENT_MODULO, ONE_PERCENT_REMAINDER = 100, 50
PHRASE = '"morning coffee"'

# Flood
FLOOD_EMAIL_DOMAIN = "abuse.example.org"
FLOOD_PASSWORD = "abuse-password-1234"  # noqa: S105 - throwaway accounts
RAMP_SECONDS = 1.0  # the flooders start this long before the timed reads
REQUEST_TIMEOUT = 20.0
MAX_REQUESTS_PER_FLOODER = 5_000
FLOODER_GRACE = REQUEST_TIMEOUT + 5
RSS_INTERVAL = 0.1
MAX_RSS_SAMPLES = 50_000
PG_INTERVAL = 0.5
PROFILE_RATE = 100

# Targets
RSS_HEADROOM_MIB = 150.0
P99_FACTOR = 3.0
SEARCH_P50_MS = 20.0
SEARCH_1PCT_P50_MS = 50.0

READS_LUA = """\
-- Random-id reads of GET /blogs/{id} (ABUSE_MAX_ID), counted by status; prints one BENCH line.
local max_id = tonumber(os.getenv("ABUSE_MAX_ID") or "1")
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  statuses = {}
  no_retry_after = 0
end

function request()
  return wrk.format(nil, "/blogs/" .. math.random(max_id))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 then
    local found = false
    for name, _ in pairs(headers) do
      if string.lower(name) == "retry-after" then found = true end
    end
    if not found then no_retry_after = no_retry_after + 1 end
  end
end

function done(summary, latency, requests)
  local total, missing, parts = {}, 0, {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    missing = missing + thread:get("no_retry_after")
  end
  for status, count in pairs(total) do
    parts[#parts + 1] = string.format('"%d":%d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"statuses":{%s},"no_retry_after":%d,"connect_errors":%d,"read_errors":%d,'
      .. '"write_errors":%d,"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(parts, ","), missing, errors.connect, errors.read, errors.write,
    errors.timeout
  ))
end
"""


# --- the database ---------------------------------------------------------------------------


def database_url(blogs: int) -> str:
    """The benchmark server (DATABASE_URL's, or the local one) with this run's own database."""
    name = "bench_abuse" if blogs == FULL_BLOGS else f"bench_abuse_{blogs}"
    return urlsplit(data.bench_url())._replace(path=f"/{name}").geturl()


def seed(url: str, blogs: int) -> None:
    command = [
        *(sys.executable, "-m", "service", "seed"),
        *("--users", str(USERS), "--blogs", str(blogs), "--seed", str(SEED), "--truncate"),
    ]
    print(f"seeding: {' '.join(command[1:])}", flush=True)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=1800)  # noqa: S603


async def _counts(url: str) -> tuple[int, ...]:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('blogs') IS NOT NULL"):
            return ()
        # Accounts a previous run's flood created (normally deleted at its end).
        await conn.execute("DELETE FROM users WHERE email LIKE $1", f"%@{FLOOD_EMAIL_DOMAIN}")
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM users), (SELECT max(id) FROM users),"
            " (SELECT count(*) FROM blogs), (SELECT max(id) FROM blogs)"
        )
    finally:
        await conn.close()
    return tuple(row)


async def _plant(url: str, blogs: int) -> dict[str, Any]:
    """Append the made-up words to their blogs' titles (once), then refresh the statistics."""
    rare_ids = [blogs * (2 * k + 1) // (2 * RARE_COUNT) for k in range(RARE_COUNT)]
    conn = await asyncpg.connect(url)
    try:
        started = time.monotonic()
        missing = "NOT search_vector @@ to_tsquery('simple', $1::text)"
        rare = await conn.execute(
            f"UPDATE blogs SET title = title || ' ' || $1::text WHERE id = ANY($2::bigint[])"
            f" AND {missing}",
            RARE_WORD,
            rare_ids,
        )
        common = await conn.execute(
            f"UPDATE blogs SET title = title || ' ' || $1::text WHERE id % $2 = $3 AND {missing}",
            ONE_PERCENT_WORD,
            ONE_PERCENT_MODULO,
            ONE_PERCENT_REMAINDER,
        )
        changed = int(rare.split()[-1]) + int(common.split()[-1])
        # VACUUM too when titles changed: it also empties the GIN index's pending list.
        await conn.execute("VACUUM ANALYZE blogs" if changed else "ANALYZE blogs")
        planted_seconds = time.monotonic() - started
        count = "SELECT count(*) FROM blogs WHERE search_vector @@ websearch_to_tsquery($1, $2)"
        # The commonest seeded words in a 1% sample of blocks, then the top one counted exactly.
        sample = await conn.fetch(
            "SELECT word, count(*) AS n FROM (SELECT unnest(tsvector_to_array(search_vector))"
            " AS word FROM blogs TABLESAMPLE SYSTEM (1) REPEATABLE (1)) AS s"
            " GROUP BY word ORDER BY n DESC, word LIMIT 5"
        )
        vocabulary = set(WORDS)
        top = [row["word"] for row in sample if row["word"] in vocabulary]
        common_word = top[0] if top else "the"
        counted = {}
        for name, q in (
            ("rare", RARE_WORD),
            ("one_percent", ONE_PERCENT_WORD),
            ("common", common_word),
            ("phrase", PHRASE),
        ):
            counted[name] = await conn.fetchval(count, SEARCH_CONFIG, q)
        total = await conn.fetchval("SELECT count(*) FROM blogs")
    finally:
        await conn.close()
    return {
        "rows_changed": changed,
        "seconds": round(planted_seconds, 1),
        "rare_ids": rare_ids,
        "common_word": common_word,
        "sample_top_words": [(row["word"], row["n"]) for row in sample],
        "matches": counted,
        "blogs": total,
    }


async def _flood_emails(url: str, count: int = 50) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT email FROM users WHERE id % 197 = 3 ORDER BY id LIMIT $1", count
        )
    finally:
        await conn.close()
    return [row["email"] for row in rows]


async def _delete_flood_users(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        done = await conn.execute(
            "DELETE FROM users WHERE email LIKE $1", f"%@{FLOOD_EMAIL_DOMAIN}"
        )
    finally:
        await conn.close()
    return int(done.split()[-1])


async def _truncate_rate_limits(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE rate_limits")
    finally:
        await conn.close()


def prepare_database(url: str, blogs: int) -> dict[str, Any]:
    asyncio.run(data.ensure_database(url))
    counts = asyncio.run(_counts(url))
    reused = counts == (USERS, USERS, blogs, blogs)
    if reused:
        print(f"database {urlsplit(url).path[1:]}: reused, {USERS:,} users, {blogs:,} blogs")
    else:
        started = time.monotonic()
        seed(url, blogs)
        print(f"seeded in {time.monotonic() - started:.0f}s", flush=True)
    planted = asyncio.run(_plant(url, blogs))
    planted["reused"] = reused
    planted["flood_emails"] = asyncio.run(_flood_emails(url))
    return planted


# --- measuring the server from outside -----------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found += [int(x) for x in text.split()]
    except OSError:
        pass
    return found


def tree_rss_mib(pid: int) -> float:
    """VmRSS of a process and all its descendants."""
    return tree_memory(pid)[0]


def tree_memory(pid: int) -> tuple[float, int]:
    """VmRSS (MiB) and threads of a process and all its descendants."""
    total_kib, threads, todo, seen = 0, 0, [pid], set()
    while todo and len(seen) < 1000:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kib += int(line.split()[1])
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
        todo += _children(current)
    return total_kib / 1024, threads


def own_cpu_seconds() -> float:
    """CPU time of this process (the flooders, the samplers) and its waited-for children
    (wrk, py-spy)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_times() -> tuple[float, float]:
    """Machine-wide (busy, total) jiffies from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


class RssSampler(threading.Thread):
    """The server tree's RSS every RSS_INTERVAL, tagged with the phase being measured."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid = pid
        self.phase: str | None = None
        self.samples: list[tuple[float, str, float]] = []
        self.max_threads: Counter[str] = Counter()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(RSS_INTERVAL) and len(self.samples) < MAX_RSS_SAMPLES:
            phase = self.phase
            if phase is not None:
                mib, threads = tree_memory(self.pid)
                self.samples.append((time.monotonic(), phase, mib))
                self.max_threads[phase] = max(self.max_threads[phase], threads)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def of(self, phase: str) -> list[float]:
        return [mib for _, p, mib in self.samples if p == phase]


@dataclass
class PgActivity:
    """The most backends of the bench database seen at once: connected, active, waiting on a
    lock (in practice a row lock of `rate_limits`)."""

    samples: int = 0
    max_connections: int = 0
    max_active: int = 0
    max_lock_waits: int = 0
    lock_wait_samples: int = 0


async def watch_pg(url: str, stop: asyncio.Event, into: PgActivity) -> None:
    conn = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            row = await conn.fetchrow(
                "SELECT count(*) AS connections,"
                " count(*) FILTER (WHERE state = 'active') AS active,"
                " count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waits"
                " FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            into.samples += 1
            into.max_connections = max(into.max_connections, row["connections"])
            into.max_active = max(into.max_active, row["active"])
            into.max_lock_waits = max(into.max_lock_waits, row["lock_waits"])
            into.lock_wait_samples += row["lock_waits"] > 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PG_INTERVAL)
    finally:
        await conn.close()


# --- load ------------------------------------------------------------------------------------


async def wrk_reads(
    port: int, max_id: int, seconds: float, connections: int, lua: Path
) -> dict[str, Any]:
    command = [
        *("wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"),
        *("-s", str(lua), f"http://{HOST}:{port}"),
    ]
    env = {**os.environ, "ABUSE_MAX_ID": str(max_id)}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(seconds + 60):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    stdout = out.decode(errors="replace")
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{stdout}\n{err.decode()}")
    result = json.loads(line.removeprefix("BENCH "))
    duration = result["duration_us"] / 1e6
    return {
        "requests": result["requests"],
        "seconds": duration,
        "rps": result["requests"] / duration,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
        "statuses": {k: v for k, v in sorted(result["statuses"].items())},
        "no_retry_after_503": result["no_retry_after"],
        "errors": {
            k: result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        },
    }


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client: a flooder should cost the machine little CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, path: str, body: bytes, content_type: str
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("closed before an answer")
        status = int(status_line.split(None, 2)[1])
        headers: dict[str, str] = {}
        for _ in range(200):
            line = await self.reader.readline()
            if not line:
                raise ConnectionResetError("closed in the middle of the head")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            payload = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            payload = b"".join(chunks)
        else:
            payload = await self.reader.read(1 << 20)
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, payload

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 2)


@dataclass
class FloodStats:
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    no_retry_after_503: Counter[str] = field(default_factory=Counter)
    other_5xx: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def add(self, kind: str, status: str, seconds: float) -> None:
        self.statuses[kind, status] += 1
        self.latencies.setdefault(kind, []).append(seconds)


async def flooder(
    kind: str,
    index: int,
    port: int,
    run_id: str,
    emails: list[str],
    deadline: float,
    stop: asyncio.Event,
    stats: FloodStats,
) -> None:
    client = RawHttp(port)
    try:
        for n in range(MAX_REQUESTS_PER_FLOODER):
            if stop.is_set() or time.monotonic() >= deadline:
                break
            if kind == "signup":
                email = f"{run_id}-{index}-{n}@{FLOOD_EMAIL_DOMAIN}"
                body = json.dumps({"name": f"Flood {index}", "email": email, "password": "x" * 12})
                path, content_type = "/users", "application/json"
            else:
                form = {"username": emails[index % len(emails)], "password": f"wrong-{index}-{n}"}
                body = urlencode(form)
                path, content_type = "/auth/token", "application/x-www-form-urlencoded"
            started = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, headers, payload = await client.request(
                        path, body.encode(), content_type
                    )
            except TimeoutError:
                stats.add(kind, "timeout", time.perf_counter() - started)
                await client.close()
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                stats.add(kind, f"connection error ({type(exc).__name__})", 0.0)
                await client.close()
                await asyncio.sleep(0.05)
                continue
            stats.add(kind, str(status), time.perf_counter() - started)
            if status == 503 and "retry-after" not in headers:
                stats.no_retry_after_503[kind] += 1
            if status >= 500 and status != 503 and len(stats.other_5xx) < 20:
                sample = {"kind": kind, "status": status, "body": payload[:300].decode("latin-1")}
                stats.other_5xx.append(sample)
    finally:
        await client.close()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _flood_summary(stats: FloodStats) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": round(stats.ended - stats.started, 2)}
    for kind in ("signup", "login"):
        statuses = {s: n for (k, s), n in sorted(stats.statuses.items()) if k == kind}
        latencies = stats.latencies.get(kind, [])
        out[kind] = {
            "requests": sum(statuses.values()),
            "statuses": statuses,
            "p50_ms": _percentile(latencies, 50) * 1000,
            "p99_ms": _percentile(latencies, 99) * 1000,
            "no_retry_after_503": stats.no_retry_after_503[kind],
        }
    out["other_5xx_samples"] = stats.other_5xx
    return out


# --- the flood section -------------------------------------------------------------------------


async def _post(port: int, path: str, body: bytes, content_type: str) -> int:
    client = RawHttp(port)
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status, _, _ = await client.request(path, body, content_type)
    finally:
        await client.close()
    return status


async def _py_spy_record(pid: int, seconds: float, out: Path) -> asyncio.subprocess.Process:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return await asyncio.create_subprocess_exec(
        *(py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))),
        *("--rate", str(PROFILE_RATE), "--format", "raw", "--function", "--output", str(out)),
        *("--nonblocking", "--threads"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def phase(
    name: str,
    server: Server,
    url: str,
    blogs: int,
    args: argparse.Namespace,
    lua: Path,
    sampler: RssSampler,
    emails: list[str] | None = None,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    """Timed random-id reads, alone or (with `emails`) under the sign-up and login flood."""
    assert server.process is not None
    await _truncate_rate_limits(url)
    stop = asyncio.Event()
    activity = PgActivity()
    watcher = asyncio.create_task(watch_pg(url, stop, activity))
    stats = FloodStats()
    flooders: list[asyncio.Task[None]] = []
    profiler = None
    unfinished = 0
    sampler.phase = name
    cpu_before, machine_before = server.cpu_seconds(), cpu_times()
    own_before = own_cpu_seconds()
    wall = time.monotonic()
    try:
        if emails is not None:
            run_id = f"abuse-{uuid.uuid4().hex[:8]}"
            deadline = time.monotonic() + RAMP_SECONDS + args.seconds
            stats.started = time.monotonic()
            for kind in ("signup", "login"):
                for i in range(args.flooders):
                    flooders.append(
                        asyncio.create_task(
                            flooder(kind, i, server.port, run_id, emails, deadline, stop, stats)
                        )
                    )
            await asyncio.sleep(RAMP_SECONDS)
            if profile_to is not None:
                profiler = await _py_spy_record(server.process.pid, args.seconds - 1, profile_to)
        reads = await wrk_reads(server.port, blogs, args.seconds, args.readers, lua)
        stop.set()
        if flooders:
            _, pending = await asyncio.wait(flooders, timeout=FLOODER_GRACE)
            for task in pending:
                task.cancel()
            stats.ended = time.monotonic()
            for task in flooders:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            unfinished = len(pending)
        if profiler is not None:
            async with asyncio.timeout(60):
                _, err = await profiler.communicate()
            if profiler.returncode != 0:
                print(f"py-spy failed: {err.decode(errors='replace').strip()}")
    finally:
        sampler.phase = None
        stop.set()
        for task in flooders:
            task.cancel()
        await asyncio.gather(*flooders, watcher, return_exceptions=True)
        if profiler is not None and profiler.returncode is None:
            profiler.kill()
            await profiler.wait()
    elapsed = time.monotonic() - wall
    busy, total = (b - a for a, b in zip(machine_before, cpu_times(), strict=True))
    rss = sampler.of(name)
    result: dict[str, Any] = {
        "reads": reads,
        "rss_peak_mib": max(rss, default=float("nan")),
        "rss_first_mib": rss[0] if rss else float("nan"),
        "rss_samples": len(rss),
        "max_threads": sampler.max_threads[name],
        "server_cpu_percent": (server.cpu_seconds() - cpu_before) / elapsed * 100,
        "clients_cpu_percent": (own_cpu_seconds() - own_before) / elapsed * 100,
        "machine_busy_percent": busy / max(total, 1) * 100,
        "pg": vars(activity),
    }
    if emails is not None:
        result["flood"] = _flood_summary(stats) | {"unfinished_flooders": unfinished}
    return result


async def flood_section(
    server: Server,
    url: str,
    blogs: int,
    args: argparse.Namespace,
    emails: list[str],
    sampler: RssSampler,
    lua: Path,
) -> dict[str, Any]:
    # Warm-up: reads, then one sign-up and one right login so hashing has run once.
    await _truncate_rate_limits(url)
    warm = await wrk_reads(server.port, blogs, args.warmup, args.readers, lua)
    signup = json.dumps(
        {"name": "Warm Up", "email": f"warm-{uuid.uuid4().hex[:8]}@{FLOOD_EMAIL_DOMAIN}"}
        | {"password": FLOOD_PASSWORD}
    ).encode()
    warm_statuses = [
        await _post(server.port, "/users", signup, "application/json"),
        await _post(
            server.port,
            "/auth/token",
            urlencode({"username": emails[0], "password": SEED_PASSWORD}).encode(),
            "application/x-www-form-urlencoded",
        ),
    ]
    print(
        f"warm-up: {warm['requests']:,} reads in {warm['seconds']:.0f}s; "
        f"sign-up {warm_statuses[0]}, right login {warm_statuses[1]}; RSS "
        f"{tree_rss_mib(server.process.pid if server.process else 0):.1f} MiB",
        flush=True,
    )
    idle = await phase("idle", server, url, blogs, args, lua, sampler)
    _print_phase("idle", idle)
    profile_to = RESULTS / "abuse" / "flood-profile.txt" if args.profile else None
    flood = await phase("flood", server, url, blogs, args, lua, sampler, emails, profile_to)
    _print_phase("flood", flood)
    # After the flood: memory once things settle, and what rate_limits was left with.
    await asyncio.sleep(3)
    assert server.process is not None
    settled = tree_rss_mib(server.process.pid)
    conn = await asyncpg.connect(url)
    try:
        limits = await conn.fetchrow(
            "SELECT count(*) AS rows, pg_total_relation_size('rate_limits') AS bytes,"
            " coalesce(max(hits), 0) AS max_hits FROM rate_limits"
        )
    finally:
        await conn.close()
    out = {
        "warmup": {"reads": warm, "statuses": warm_statuses},
        "idle": idle,
        "flood": flood,
        "rss_settled_mib": settled,
        "rate_limits_after": dict(limits),
    }
    if profile_to is not None and profile_to.exists():
        out["profile"] = _summarize_profile(profile_to, flood)
    return out


def _summarize_profile(path: Path, flood: dict[str, Any]) -> dict[str, Any]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks[tuple(stack.split(";"))] += int(count)
    f = flood["flood"]
    requests = flood["reads"]["requests"] + f["signup"]["requests"] + f["login"]["requests"]
    summary = pyspy.summarize(stacks, requests=requests, top=15)
    # py-spy samples all threads; the event loop's thread is what serves requests.
    threads: Counter[str] = Counter()
    for frames, count in stacks.items():
        threads[frames[0] if frames else "?"] += count
    summary["threads"] = threads.most_common(6)
    summary["file"] = str(path)
    return summary


def _print_phase(name: str, result: dict[str, Any]) -> None:
    reads = result["reads"]
    print(
        f"{name}: reads {reads['rps']:,.0f} req/s p50 {reads['p50_ms']:.2f} ms "
        f"p99 {reads['p99_ms']:.2f} ms max {reads['max_ms']:.0f} ms "
        f"statuses {reads['statuses']}; RSS peak {result['rss_peak_mib']:.1f} MiB; "
        f"server CPU {result['server_cpu_percent']:.0f}%",
        flush=True,
    )
    if "flood" in result:
        for kind in ("signup", "login"):
            f = result["flood"][kind]
            print(
                f"  {kind}: {f['requests']:,} answers {f['statuses']} "
                f"p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms",
                flush=True,
            )


# --- the search section ------------------------------------------------------------------------


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, float]:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    return response.status, body, time.perf_counter() - started


def _search_path(q: str, cursor: str | None = None) -> str:
    path = f"/blogs?q={quote(q)}&limit=20"
    return path + (f"&cursor={quote(cursor)}" if cursor else "")


def time_search(port: int, path: str, warmup: int, requests: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        status, body, _ = _get(conn, path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {body[:300]!r}")
        page = json.loads(body)
        for _ in range(warmup):
            _get(conn, path)
        latencies, statuses = [], Counter[int]()
        for _ in range(requests):
            status, _, seconds = _get(conn, path)
            statuses[status] += 1
            latencies.append(seconds * 1000)
    finally:
        conn.close()
    return {
        "path": path,
        "items": len(page["items"]),
        "first_ids": [item["id"] for item in page["items"][:3]],
        "next_cursor": page.get("next_cursor"),
        "p50_ms": statistics.median(latencies),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": max(latencies),
        "statuses": dict(statuses),
    }


def _plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    label = node["Node Type"]
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    elif "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    details = [
        f"rows {node.get('Actual Rows', '?')}"
        + (f" x{node['Actual Loops']}" if node.get("Actual Loops", 1) != 1 else "")
        + f" (est {node.get('Plan Rows', '?')})",
        f"{node.get('Actual Total Time', 0):.1f} ms",
        f"hit {node.get('Shared Hit Blocks', 0)} read {node.get('Shared Read Blocks', 0)}",
    ]
    for key in ("Rows Removed by Filter", "Rows Removed by Index Recheck", "Exact Heap Blocks"):
        if node.get(key):
            details.append(f"{key.lower()} {node[key]}")
    lines = [f"{'  ' * depth}{label} ({', '.join(details)})"]
    for child in node.get("Plans", []):
        lines += _plan_lines(child, depth + 1)
    return lines


async def explain(url: str, q: str, before: tuple[datetime, int]) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        # As the service runs it: planned for these values, no JIT.
        await conn.execute("SET plan_cache_mode = force_custom_plan; SET jit = off")
        args = BLOGS_SEARCH.args(
            {
                "config": SEARCH_CONFIG,
                "query": q,
                "before_created_at": before[0],
                "before_id": before[1],
                "limit": 21,
                "window": SEARCH_WINDOW,
                "reader_id": None,  # anonymous, as the timed requests
                "reader_version": None,
                "index_max": SEARCH_INDEX_MAX_ROWS,
            }
        )
        sql = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)\n{BLOGS_SEARCH.sql}"
        await conn.fetchval(sql, *args)  # once to warm the same pages as the timed requests
        [plan] = json.loads(await conn.fetchval(sql, *args))
    finally:
        await conn.close()
    top = plan["Plan"]
    return {
        "top": top["Node Type"],
        "execution_ms": plan["Execution Time"],
        "planning_ms": plan["Planning Time"],
        "hit": top.get("Shared Hit Blocks", 0),
        "read": top.get("Shared Read Blocks", 0),
        "tree": _plan_lines(top),
    }


def search_section(
    server: Server, url: str, planted: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    asyncio.run(_truncate_rate_limits(url))
    common = planted["common_word"]
    shapes = [
        ("rare", RARE_WORD, SEARCH_P50_MS),
        ("one_percent", ONE_PERCENT_WORD, SEARCH_1PCT_P50_MS),
        ("common", common, SEARCH_P50_MS),
        ("phrase", PHRASE, SEARCH_P50_MS),
    ]
    first = (datetime.max.replace(tzinfo=UTC), MAX_ID)
    results: dict[str, Any] = {}
    for name, q, target in shapes:
        timed = time_search(server.port, _search_path(q), args.search_warmup, args.search_requests)
        results[name] = {"q": q, "target_p50_ms": target, **timed}
        results[name]["plan"] = asyncio.run(explain(url, q, first))
        _print_search(name, results[name])
    cursor = results["common"]["next_cursor"]
    if cursor:
        micros, before_id = CursorCodec(TOKEN_SECRET).decode_pair(cursor)
        timed = time_search(
            server.port, _search_path(common, cursor), args.search_warmup, args.search_requests
        )
        page1 = set(results["common"]["first_ids"])
        results["common_page2"] = {"q": common, "target_p50_ms": SEARCH_P50_MS, **timed}
        results["common_page2"]["overlaps_page1"] = bool(page1 & set(timed["first_ids"]))
        results["common_page2"]["plan"] = asyncio.run(
            explain(url, common, (from_micros(micros), before_id))
        )
        _print_search("common_page2", results["common_page2"])
    return results


def _print_search(name: str, r: dict[str, Any]) -> None:
    plan = r["plan"]
    print(
        f"search {name} q={r['q']}: {r['items']} items, p50 {r['p50_ms']:.2f} ms "
        f"p99 {r['p99_ms']:.2f} ms; plan: {plan['top']}, execution {plan['execution_ms']:.2f} ms",
        flush=True,
    )
    for line in plan["tree"]:
        print(f"    {line}")


# --- the report --------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    rows = []
    f = result.get("flood")
    if f:
        idle, flood = f["idle"], f["flood"]
        limit = idle["rss_peak_mib"] + RSS_HEADROOM_MIB
        rows.append(
            (
                "peak RSS under flood <= idle + 150 MiB",
                f"{flood['rss_peak_mib']:.1f} <= {limit:.1f} MiB",
                flood["rss_peak_mib"] <= limit,
            )
        )
        ratio = flood["reads"]["p99_ms"] / idle["reads"]["p99_ms"]
        rows.append(
            (
                "read p99 under flood <= 3x idle",
                f"{flood['reads']['p99_ms']:.2f} / {idle['reads']['p99_ms']:.2f} ms = {ratio:.1f}x",
                ratio <= P99_FACTOR,
            )
        )
        bad = _bad_5xx(f)
        rows.append(("no 5xx but 503 with Retry-After", bad or "none", not bad))
    for name, r in (result.get("search") or {}).items():
        rows.append(
            (
                f"search {name} p50 < {r['target_p50_ms']:.0f} ms",
                f"{r['p50_ms']:.2f} ms",
                r["p50_ms"] < r["target_p50_ms"],
            )
        )
    return rows


def _bad_5xx(f: dict[str, Any]) -> str:
    """Every 5xx other than 503, and every 503 without Retry-After, seen in any phase."""
    bad: Counter[str] = Counter()
    for phase_name in ("idle", "flood"):
        reads = f[phase_name]["reads"]
        for status, n in reads["statuses"].items():
            if int(status) >= 500 and int(status) != 503:
                bad[f"{phase_name} reads {status}"] += n
        if reads["no_retry_after_503"]:
            bad[f"{phase_name} reads 503 without Retry-After"] += reads["no_retry_after_503"]
    flood = f["flood"]["flood"]
    for kind in ("signup", "login"):
        for status, n in flood[kind]["statuses"].items():
            if status.isdigit() and int(status) >= 500 and int(status) != 503:
                bad[f"{kind} {status}"] += n
        if flood[kind]["no_retry_after_503"]:
            bad[f"{kind} 503 without Retry-After"] += flood[kind]["no_retry_after_503"]
    return ", ".join(f"{k}: {n}" for k, n in bad.items())


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print("\n=== abuse.py summary ===")
    print(
        f"machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m['wrk']}, "
        f"commit {m['commit']}"
    )
    print(
        f"load average at start {' '.join(m['loadavg_at_start'])}, "
        f"at end {' '.join(result['loadavg_at_end'])}"
    )
    planted = result["database"]
    n = planted["blogs"]
    matches = planted["matches"]
    print(
        f"database: {n:,} blogs, {USERS:,} users ({'reused' if planted['reused'] else 'seeded'});"
        f" matches: {RARE_WORD} {matches['rare']}, {ONE_PERCENT_WORD} {matches['one_percent']}"
        f" ({matches['one_percent'] / n:.1%}), {planted['common_word']!r} {matches['common']:,}"
        f" ({matches['common'] / n:.1%}), {PHRASE} {matches['phrase']:,}"
        f" ({matches['phrase'] / n:.2%})"
    )
    f = result.get("flood")
    if f:
        print(
            f"\n{'phase':7} {'reads/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'RSS peak':>9} {'threads':>7} {'server CPU':>10} {'clients':>7} {'machine':>8} "
            f"{'lock waits':>10}"
        )
        for name in ("idle", "flood"):
            p = f[name]
            r = p["reads"]
            print(
                f"{name:7} {r['rps']:8,.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['max_ms']:8.0f} {p['rss_peak_mib']:8.1f}M {p['max_threads']:7d} "
                f"{p['server_cpu_percent']:9.0f}% {p['clients_cpu_percent']:6.0f}% "
                f"{p['machine_busy_percent']:7.0f}% {p['pg']['max_lock_waits']:10d}"
            )
        idle, flood = f["idle"], f["flood"]
        print(
            f"ratio   {flood['reads']['rps'] / idle['reads']['rps']:8.2f} "
            f"{flood['reads']['p50_ms'] / idle['reads']['p50_ms']:8.2f} "
            f"{flood['reads']['p99_ms'] / idle['reads']['p99_ms']:8.2f} "
            f"{'':8} {flood['rss_peak_mib'] - idle['rss_peak_mib']:+8.1f}M"
        )
        print(
            f"read statuses: idle {idle['reads']['statuses']}, flood {flood['reads']['statuses']};"
            f" wrk errors under flood {flood['reads']['errors']}"
        )
        print(f"RSS 3 s after the flood: {f['rss_settled_mib']:.1f} MiB")
        fl = flood["flood"]
        print(
            f"\nflooders ({fl['seconds']:.1f}s, from {RAMP_SECONDS:.0f}s before the timed reads;"
            f" {fl['unfinished_flooders']} still waiting at the end):"
        )
        print(
            f"{'':7} {'answers':>8} {'201':>6} {'409':>6} {'401':>6} {'429':>7} {'503':>6} "
            f"{'other':>6} {'p50 ms':>8} {'p99 ms':>8}"
        )
        for kind in ("signup", "login"):
            k = fl[kind]
            s = k["statuses"]
            known = ("201", "409", "401", "429", "503")
            other = sum(v for key, v in s.items() if key not in known)
            print(
                f"{kind:7} {k['requests']:8,} {s.get('201', 0):6,} {s.get('409', 0):6,} "
                f"{s.get('401', 0):6,} {s.get('429', 0):7,} {s.get('503', 0):6,} {other:6,} "
                f"{k['p50_ms']:8.1f} {k['p99_ms']:8.1f}"
            )
            others = {key: v for key, v in s.items() if key not in known}
            if others:
                print(f"        other answers: {others}")
            if k["no_retry_after_503"]:
                print(f"        503 without Retry-After: {k['no_retry_after_503']}")
        print(f"rate_limits after the flood: {f['rate_limits_after']}")
        if fl["other_5xx_samples"]:
            print(f"5xx other than 503, first ones: {fl['other_5xx_samples'][:3]}")
        if f.get("profile"):
            p = f["profile"]
            print(f"\npy-spy during the flood ({p['samples']} samples, all threads): {p['file']}")
            for row in p["buckets"][:8]:
                print(f"  {row['share']:6.1%}  {row['frame']}")
            print("  by thread root:", ", ".join(f"{t} {c}" for t, c in p["threads"]))
    search = result.get("search")
    if search:
        print(
            f"\n{'search':13} {'items':>5} {'p50 ms':>8} {'p99 ms':>8} {'plan ms':>8} "
            f"{'hit':>7} {'read':>6}  plan"
        )
        for name, r in search.items():
            plan = r["plan"]
            nodes = " > ".join(line.strip().split(" (")[0] for line in plan["tree"][:4])
            print(
                f"{name:13} {r['items']:5} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{plan['execution_ms']:8.2f} {plan['hit']:7} {plan['read']:6}  {nodes}"
            )
    if result.get("server_log_problems"):
        print(f"\nserver log: {result['server_log_problems']}")
    print(f"\n{'target':42} {'value':34} result")
    for label, value, ok in result["targets"]:
        print(f"{label:42} {value:34} {_mark(ok)}")


def server_log_problems(log: Path) -> dict[str, Any]:
    """Counts of the server log's warnings and errors by message (JSON or plain lines), and
    the first error lines."""
    if not log.exists():
        return {}
    counts: Counter[str] = Counter()
    errors: list[str] = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            level = str(record.get("level", "")).lower()
            message = str(record.get("message", ""))
        except (ValueError, AttributeError):
            level, _, message = line.partition(":")
            level = level.strip().lower()
            if "Traceback" in line:
                level = "error"
        if level in {"warning", "error", "critical"}:
            counts[f"{level}: {message[:80]}"] += 1
        if level in {"error", "critical"} and len(errors) < 5:
            errors.append(line[:300])
    out: dict[str, Any] = {}
    if counts:
        out["by_message"] = dict(counts.most_common(10))
    if errors:
        out["first_errors"] = errors
    return out


# --- main --------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python bench/abuse.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--blogs", type=int, help=f"{FULL_BLOGS:,}, or {QUICK_BLOGS:,} with --quick")
    p.add_argument("--quick", action="store_true", help="50,000 blogs and shorter phases")
    p.add_argument("--seconds", type=int, help="each timed read phase (15; 8 with --quick)")
    p.add_argument("--warmup", type=int, default=5, help="seconds of reads before (5)")
    p.add_argument("--readers", type=int, default=8, help="wrk connections (8)")
    p.add_argument("--flooders", type=int, default=200, help="sign-up and login clients each")
    p.add_argument("--search-requests", type=int, help="timed per shape (200; 60 with --quick)")
    p.add_argument("--search-warmup", type=int, default=20)
    p.add_argument("--port", type=int, default=18_401)
    p.add_argument("--profile", action="store_true", help="py-spy record during the flood")
    p.add_argument("--skip-flood", action="store_true")
    p.add_argument("--skip-search", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # A plain SIGTERM would skip the `finally` that stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    blogs = args.blogs or (QUICK_BLOGS if args.quick else FULL_BLOGS)
    args.seconds = args.seconds or (8 if args.quick else 15)
    args.search_requests = args.search_requests or (60 if args.quick else 200)
    if blogs < 1_000 or args.seconds < 2 or not 1 <= args.flooders <= 1000:
        raise SystemExit("need --blogs >= 1000, --seconds >= 2 and 1 to 1000 --flooders")
    require_wrk()
    url = database_url(blogs)
    data.loopback_only(url)
    log_dir = RESULTS / "abuse"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine(), "config": vars(args) | {"blogs": blogs}}
    result["database"] = planted = prepare_database(url, blogs)
    emails = planted["flood_emails"]
    server = Server("ours", args.port, url)
    sampler: RssSampler | None = None
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="abuse-reads-") as lua:
            lua.write(READS_LUA)
            lua.flush()
            server.start(log_dir)
            server.wait_ready("/blogs/1")
            assert server.process is not None
            sampler = RssSampler(server.process.pid)
            sampler.start()
            print(f"server pid {server.process.pid} on port {args.port}", flush=True)
            if not args.skip_flood:
                result["flood"] = asyncio.run(
                    flood_section(server, url, blogs, args, emails, sampler, Path(lua.name))
                )
            if not args.skip_search:
                result["search"] = search_section(server, url, planted, args)
    finally:
        if sampler is not None:
            sampler.stop()
        server.stop()
        try:
            deleted = asyncio.run(_delete_flood_users(url))
            result["flood_users_deleted"] = deleted
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"could not delete the flood's users: {exc}")
    result["server_log_problems"] = server_log_problems(server.log)
    result["targets"] = targets(result)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    if sampler is not None:
        result["rss_series"] = [
            (round(t - started, 2), p, round(m, 1)) for t, p, m in sampler.samples
        ]
    print_report(result)
    print(f"\nwrote {write('abuse', result)} after {result['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the server is stopped", file=sys.stderr)
        sys.exit(130)
