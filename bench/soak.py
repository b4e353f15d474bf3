"""`python bench/soak.py`: a bounded soak test of the real server under mixed load.

Starts `python -m service serve` (one worker) on a loopback port, on a scratch database
it creates and drops (on --server-url), or on --database-url as it is. It signs up users, then
drives reads and writes from many concurrent clients for --duration seconds and reports
throughput, latency, errors by status, server memory and the most database connections seen.

Exit status 1 when a response other than the expected one or a 503 came back, when the database
ever held more service connections than the pool maximum, or when a blog that was created and
not deleted is missing (or a deleted one is still there) at the end.
"""

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP_NAME = "blog-api"
PASSWORD = "soak password 1234"  # noqa: S105 - for throwaway accounts
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# --- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@asynccontextmanager
async def server_process(
    database_url: str, pool_max: int, log: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "TOKEN_SECRET": secrets.token_urlsafe(32),
        "DB_POOL_MIN_SIZE": str(min(2, pool_max)),
        "DB_POOL_MAX_SIZE": str(pool_max),
        "LOG_LEVEL": "warning",
        "ACCESS_LOG": "false",
        "MIGRATE_ON_START": "true",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "service", "serve", "--host", HOST, "--port", str(port)),
            *("--workers", "1"),
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its group is killed if it does not stop
        )
    base_url = f"http://{HOST}:{port}"
    try:
        await wait_until_live(process, base_url, log)
        yield process, base_url
    finally:
        await stop(process)


async def wait_until_live(process: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server exited:\n{tail(log)}")
            with suppress(httpx.TransportError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready within 60 s")


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM and a wait, then SIGKILL to the server's whole process group."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with suppress(TimeoutError):
            async with asyncio.timeout(15):
                await process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    name = f"blog_soak_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Account:
    id: int
    email: str
    headers: dict[str, str]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    created: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    # Deletes that failed (503, say): the blog may or may not be gone.
    uncertain: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return len(self.latencies)


# What each operation answers when all is well; a 503 is allowed for any, anything else is an error.
EXPECTED = {
    "GET /blogs": 200,
    "GET /blogs?q": 200,
    "GET /blogs/{id}": 200,
    "GET /users/{id}/blogs": 200,
    "GET /users/{id}": 200,
    "POST /blogs": 201,
    "PATCH /blogs/{id}": 200,
    "DELETE /blogs/{id}": 204,
    "POST /auth/token": 200,
}

# Relative frequencies. Logins cost a deliberately slow password hash check (~0.3 s of CPU), so
# they are rare, as they are in real use.
WEIGHTS = {
    "GET /blogs": 240,
    "GET /blogs?q": 40,
    "GET /blogs/{id}": 260,
    "GET /users/{id}/blogs": 140,
    "GET /users/{id}": 60,
    "POST /blogs": 110,
    "PATCH /blogs/{id}": 90,
    "DELETE /blogs/{id}": 50,
    "POST /auth/token": 1,
}


Call = Callable[[], Awaitable[httpx.Response]]
Then = Callable[[httpx.Response], None]


class Worker:
    """One client: sends one request at a time, and edits and deletes only blogs it wrote."""

    def __init__(
        self, client: httpx.AsyncClient, account: Account, stable: list[int], stats: Stats
    ) -> None:
        self.client = client
        self.account = account
        self.stable = stable
        self.stats = stats
        self.mine: list[int] = []
        self.rng = random.Random()  # noqa: S311 - load shape, not security

    async def run(self, until: float) -> None:
        names, weights = list(WEIGHTS), list(WEIGHTS.values())
        while time.monotonic() < until:
            name = self.rng.choices(names, weights)[0]
            if name in ("PATCH /blogs/{id}", "DELETE /blogs/{id}") and not self.mine:
                name = "POST /blogs"
            await self.send(name, *self.request(name))

    def request(self, name: str) -> tuple[Call, Then | None]:
        client, rng, headers = self.client, self.rng, self.account.headers
        match name:
            case "GET /blogs":
                return lambda: client.get("/blogs", params={"limit": rng.randint(1, 50)}), None
            case "GET /blogs?q":
                return lambda: client.get("/blogs", params={"q": rng.choice("aeiou%_")}), None
            case "GET /blogs/{id}":
                return lambda: client.get(f"/blogs/{rng.choice(self.stable)}"), None
            case "GET /users/{id}/blogs":
                path = f"/users/{self.account.id}/blogs"
                return lambda: client.get(path, params={"limit": 10}), None
            case "GET /users/{id}":
                return lambda: client.get(f"/users/{self.account.id}"), None
            case "POST /blogs":
                body = {"title": f"soak {rng.random():.6f}", "body": "x" * rng.randint(1, 2000)}
                return lambda: client.post("/blogs", json=body, headers=headers), self.created
            case "PATCH /blogs/{id}":
                blog_id = rng.choice(self.mine)
                edit = {"title": f"edited {rng.random():.6f}"}
                return lambda: client.patch(f"/blogs/{blog_id}", json=edit, headers=headers), None
            case "DELETE /blogs/{id}":
                blog_id = self.mine.pop(rng.randrange(len(self.mine)))
                # Until the answer comes, whether it is gone is not known.
                self.stats.uncertain.add(blog_id)

                def deleted(response: httpx.Response) -> None:
                    self.stats.uncertain.discard(blog_id)
                    self.stats.deleted.add(blog_id)

                return lambda: client.delete(f"/blogs/{blog_id}", headers=headers), deleted
            case "POST /auth/token":
                form = {"username": self.account.email, "password": PASSWORD}
                return lambda: client.post("/auth/token", data=form), None
        raise ValueError(name)

    def created(self, response: httpx.Response) -> None:
        blog_id = response.json()["id"]
        self.mine.append(blog_id)
        self.stats.created.add(blog_id)

    async def send(self, name: str, call: Call, then: Then | None) -> None:
        started = time.perf_counter()
        try:
            response = await call()
        except httpx.HTTPError as exc:
            self.stats.errors[f"{name}: {type(exc).__name__}"] += 1
            return
        finally:
            self.stats.latencies.append(time.perf_counter() - started)
        self.stats.statuses[(name, response.status_code)] += 1
        if then is not None and response.status_code == EXPECTED[name]:
            then(response)


async def sign_up(client: httpx.AsyncClient, index: int) -> Account:
    email = f"soak-{index}-{uuid.uuid4().hex[:8]}@example.com"
    created = await client.post(
        "/users", json={"name": f"Soak {index}", "email": email, "password": PASSWORD}
    )
    created.raise_for_status()
    token = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return Account(created.json()["id"], email, headers)


async def seed(base_url: str, users: int) -> tuple[list[Account], list[int]]:
    """Users, and blogs that nobody deletes (the targets of GET /blogs/{id})."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        accounts = list(await asyncio.gather(*(sign_up(client, i) for i in range(users))))
        stable = []
        for account in accounts:
            for n in range(5):
                blog = {"title": f"stable {account.id}.{n}", "body": "a stable blog " * 20}
                response = await client.post("/blogs", json=blog, headers=account.headers)
                response.raise_for_status()
                stable.append(response.json()["id"])
    return accounts, stable


# --- watching the server ----------------------------------------------------------------------


async def count_connections(conn: asyncpg.Connection, database: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
        APP_NAME,
        database,
    )


async def watch_connections(database_url: str, until: float, seen: list[int]) -> None:
    database = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(database_url)
    try:
        while time.monotonic() < until:
            seen.append(await count_connections(conn, database))
            await asyncio.sleep(1)
    finally:
        await conn.close()


async def missing_and_resurrected(database_url: str, stats: Stats) -> tuple[set[int], set[int]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id FROM blogs WHERE id = ANY($1::bigint[])",
            [
                *stats.created,
                *stats.deleted,
            ],
        )
    finally:
        await conn.close()
    present = {row["id"] for row in rows}
    kept = stats.created - stats.deleted - stats.uncertain
    return kept - present, stats.deleted & present


# --- the run ----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def soak(args: argparse.Namespace, database_url: str, log: Path) -> int:
    async with server_process(database_url, args.pool_max, log) as (process, base_url):
        rss_start = rss_mib(process.pid)
        accounts, stable = await seed(base_url, args.users)
        print(f"server pid {process.pid} at {base_url}; {len(accounts)} users, {len(stable)} blogs")

        stats = Stats()
        connections: list[int] = []
        cpu_before = (cpu_seconds(process.pid), time.process_time())
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        until = started + args.duration
        warm_up = started + min(15.0, args.duration / 6)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        clients = [
            httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits)
            for _ in range(args.concurrency)
        ]
        workers = [
            Worker(client, accounts[i % len(accounts)], stable, stats)
            for i, client in enumerate(clients)
        ]
        watcher = asyncio.create_task(watch_connections(database_url, until, connections))
        try:
            running = asyncio.gather(*(worker.run(until) for worker in workers))
            await asyncio.sleep(max(0.0, warm_up - time.monotonic()))
            rss_warm = rss_mib(process.pid)
            async with asyncio.timeout(args.duration + 60):
                await running
            elapsed = time.monotonic() - started
            await watcher
        finally:
            watcher.cancel()
            for client in clients:
                await client.aclose()
        rss_end = rss_mib(process.pid)
        cpu = (
            (cpu_seconds(process.pid) - cpu_before[0]) / elapsed,
            (time.process_time() - cpu_before[1]) / elapsed,
        )
        load = (load_before, os.getloadavg()[0])
        missing, resurrected = await missing_and_resurrected(database_url, stats)

    return report(
        args,
        stats=stats,
        elapsed=elapsed,
        rss=(rss_start, rss_warm, rss_end),
        cpu=cpu,
        load=load,
        connections=connections,
        missing=missing,
        resurrected=resurrected,
    )


def report(
    args: argparse.Namespace,
    *,
    stats: Stats,
    elapsed: float,
    rss: tuple[float, float, float],
    cpu: tuple[float, float],
    load: tuple[float, float],
    connections: list[int],
    missing: set[int],
    resurrected: set[int],
) -> int:
    latencies = sorted(stats.latencies)
    unexpected = {
        key: count for key, count in stats.statuses.items() if key[1] not in (EXPECTED[key[0]], 503)
    }
    unavailable = sum(count for (_, code), count in stats.statuses.items() if code == 503)
    by_status = Counter[int]()
    for (_, code), count in stats.statuses.items():
        by_status[code] += count
    most_connections = max(connections, default=0)

    print(f"duration          {elapsed:.1f} s, {args.concurrency} concurrent clients")
    print(f"requests          {stats.total} ({stats.total / elapsed:.0f}/s)")
    print(
        f"latency           p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"max {percentile(latencies, 1.0) * 1000:.1f} ms"
    )
    print(f"statuses          {dict(sorted(by_status.items()))}")
    for name in EXPECTED:
        counts = {code: n for (op, code), n in sorted(stats.statuses.items()) if op == name}
        print(f"  {name:<22} {counts}")
    print(f"503s              {unavailable}")
    print(f"errors (not 503)  {sum(unexpected.values()) + sum(stats.errors.values())}")
    for (name, code), count in sorted(unexpected.items()):
        print(f"  {name} -> {code}: {count}")
    for what, count in sorted(stats.errors.items()):
        print(f"  {what}: {count}")
    print(
        f"server RSS        start {rss[0]:.1f} MiB, after warm-up {rss[1]:.1f} MiB, "
        f"end {rss[2]:.1f} MiB"
    )
    print(
        f"cpu               server {cpu[0]:.2f} cores, load generator {cpu[1]:.2f} cores "
        f"({os.cpu_count()} on the machine; 1-min load average {load[0]:.1f} -> {load[1]:.1f})"
    )
    print(
        f"db connections    max {most_connections} (pool max {args.pool_max}), "
        f"{len(connections)} samples"
    )
    print(
        f"blogs             {len(stats.created)} created, {len(stats.deleted)} deleted, "
        f"{len(missing)} missing, {len(resurrected)} deleted but present"
    )

    failures = []
    if unexpected or stats.errors:
        failures.append("responses other than the expected status or 503")
    if most_connections > args.pool_max:
        failures.append(f"{most_connections} connections, over the pool max {args.pool_max}")
    if not connections:
        failures.append("no connection samples")
    if missing or resurrected:
        failures.append("blogs lost or resurrected")
    if not stats.total:
        failures.append("no requests completed")
    print("result            " + ("FAIL: " + "; ".join(failures) if failures else "PASS"))
    return 1 if failures else 0


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python bench/soak.py", description=__doc__.split("\n")[0])
    cli.add_argument("--duration", type=float, default=180, help="seconds of load (180)")
    cli.add_argument("--concurrency", type=int, default=64, help="concurrent clients (64)")
    cli.add_argument("--users", type=int, default=16, help="accounts the clients share (16)")
    cli.add_argument("--pool-max", type=int, default=10, help="DB_POOL_MAX_SIZE (10)")
    cli.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="serve this database as it is (default: $DATABASE_URL; unset: a scratch database)",
    )
    cli.add_argument(
        "--server-url",
        default=os.environ.get("SOAK_SERVER_URL", DEFAULT_SERVER_URL),
        help=f"where to create the scratch database (default: $SOAK_SERVER_URL or "
        f"{DEFAULT_SERVER_URL})",
    )
    return cli


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="blog-api-soak-") as workdir:
        log = Path(workdir) / "server.log"
        try:
            if args.database_url:
                return await soak(args, args.database_url, log)
            async with scratch_database(args.server_url) as url:
                return await soak(args, url, log)
        finally:
            if text := tail(log).strip():
                print(f"--- server log (tail)\n{text}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The load stays on this machine: a database elsewhere is refused (a socket path is fine).
    host = urlsplit(args.database_url or args.server_url).hostname
    if host and host not in ("localhost", "::1") and not host.startswith("127."):
        print(f"error: {host} is not a loopback address", file=sys.stderr)
        return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
