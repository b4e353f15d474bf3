"""Helpers shared by the tests: constants, database plumbing, accounts, and the service run in
process or as a real server. Fixtures live in tests/conftest.py."""

import asyncio
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db import migrations
from service.db.database import Database
from service.db.tables import metadata
from service.db.urls import asyncpg_dsn
from service.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOKEN_SECRET = "test-secret-" + "x" * 32
PASSWORD = "correct horse battery"
# The pool's application_name: how tests find the service's connections in pg_stat_activity.
APP_NAME = "blog-api"

ScratchDatabase = Callable[..., Awaitable[str]]


# --- settings and databases ----------------------------------------------------------------

# Every index PostgreSQL builds for our schema: primary keys, unique constraints and indexes.
OUR_INDEXES = {
    name
    for table in metadata.tables.values()
    for name in [
        table.primary_key.name,
        *(index.name for index in table.indexes),
        *(c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)),
    ]
}


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings for an app under test. The response cache is off unless asked for: inside a
    rolled-back transaction nothing commits, so nothing would ever invalidate it."""
    return Settings(
        database_url=database_url,
        token_secret=TOKEN_SECRET,
        _env_file=None,
        **{"read_cache": False, **overrides},
    )


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection of the test's own, outside the service's pool."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        yield conn
    finally:
        await conn.close()


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with connect(url) as conn:
        return await conn.fetch(sql, *args)


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    async with connect(url) as conn:
        return await conn.fetchval(sql, *args)


async def create_database(server_url: str, name: str, *, migrated: bool = True) -> str:
    """A new database on the server, migrated unless told otherwise; its URL."""
    async with connect(server_url) as admin:
        await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    if migrated:
        await migrations.migrate(url)
    return url


async def drop_database(server_url: str, name: str) -> None:
    async with connect(server_url) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_name(prefix: str = "blog_scratch") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def seeded_database(server_url: str, *statements: str) -> AsyncIterator[str]:
    """A migrated scratch database holding what `statements` insert, vacuumed and analysed.

    For plan tests: tables of tens of thousands of rows with settled statistics, built once for
    a module and dropped after it. Seeding the shared test database in each test's transaction
    instead leaves its tables and indexes full of dead rows, which slow every later search.
    """
    name = scratch_name("blog_plans")
    url = await create_database(server_url, name)
    try:
        async with connect(url) as conn:
            for statement in statements:
                await conn.execute(statement)
            await conn.execute("VACUUM (ANALYZE)")
        yield url
    finally:
        await drop_database(server_url, name)


_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET)\b", re.IGNORECASE)


@asynccontextmanager
async def statements_run(raw: asyncpg.Connection) -> AsyncIterator[list[str]]:
    """The SQL of every statement `raw` runs meanwhile (asyncpg's query logger), leaving out
    transaction control and SET: what a request costs in queries."""
    seen: list[str] = []

    def log(record: Any) -> None:
        if not _CONTROL.match(record.query):
            seen.append(record.query)

    raw.add_query_logger(log)
    try:
        yield seen
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after each statement, not in it
    finally:
        raw.remove_query_logger(log)


@asynccontextmanager
async def rolled_back(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to `url` inside a transaction that is rolled back at the end."""
    async with connect(url) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


# --- waiting -------------------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Poll `check` until it is true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


# --- accounts, blogs and pages through the API ---------------------------------------------


@dataclass
class Account:
    id: int
    name: str
    email: str
    headers: dict[str, str]


SignUp = Callable[..., Awaitable[Account]]


async def sign_up_with(client: AsyncClient, name: str = "Ada", email: str | None = None) -> Account:
    """Create a user through the API and log them in."""
    email = email or f"{uuid.uuid4().hex[:12]}@example.com"
    created = await client.post("/users", json={"name": name, "email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(
        id=created.json()["id"],
        name=name,
        email=email,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )


async def write_blog(
    client: AsyncClient, headers: dict[str, str], *, title: str = "Original", body: str = "text"
) -> dict[str, Any]:
    """Write a blog through the API; the blog as answered."""
    response = await client.post("/blogs", json={"title": title, "body": body}, headers=headers)
    assert response.status_code == 201, response.text
    blog: dict[str, Any] = response.json()
    return blog


async def walk_pages(
    client: AsyncClient, path: str, headers: dict[str, str] | None = None, **params: Any
) -> tuple[list[dict], int]:
    """Every item of a keyset listing, page by page, and the number of pages."""
    items: list[dict] = []
    pages = 0
    cursor = None
    while True:
        response = await client.get(
            path, params=params | ({"cursor": cursor} if cursor else {}), headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if "limit" in params:
            assert len(page["items"]) <= int(params["limit"])
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


# --- the service on a real pool, in process --------------------------------------------------


@asynccontextmanager
async def in_process(
    url: str, *, settings: Settings | None = None, **pool: Any
) -> AsyncIterator[AsyncClient]:
    """The app on a real pool of its own (it really commits), driven through ASGI in this task.

    An exception escaping the app becomes the 500 a real server would send.
    """
    app = create_app(settings or settings_for(url), database=Database(url, **pool))
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


# --- the service as a real server process ----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> AsyncClient:
        return AsyncClient(base_url=self.base_url, **options)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@asynccontextmanager
async def serving(url: str, *, dotenv: str | None = None, **settings: str) -> AsyncIterator[Server]:
    """`python -m service serve` on a free loopback port, in a process group of its own, stopped
    at the end (see `stop`) if still running; `dotenv` is the text of a `.env` file in the
    folder it starts in."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": url,
        "TOKEN_SECRET": TOKEN_SECRET,
        "MIGRATE_ON_START": "false",
        "LOG_LEVEL": "warning",
        # Off unless asked for: tests that read right after a write expect that write.
        "READ_CACHE": "false",
        **settings,
    }
    with tempfile.TemporaryDirectory(prefix="blog-api-serve-") as workdir:
        log = Path(workdir) / "server.log"
        if dotenv is not None:
            (Path(workdir) / ".env").write_text(dotenv)
        with log.open("wb") as out:
            # A directory of its own, so no stray .env is read.
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service",
                "serve",
                "--port",
                str(port),
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, port, log)
        try:
            await _wait_until_live(server)
            yield server
        finally:
            await stop(process)


# How long a served process gets to stop by itself on SIGTERM before its group is killed.
STOP_TIMEOUT = 15


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM and a wait, then SIGKILL to the process's whole group (it must lead one, see
    `start_new_session`): killing only the leader would leave its worker processes running."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


async def _wait_until_live(server: Server) -> None:
    async def live() -> bool:
        if server.process.returncode is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            async with server.client(timeout=1) as client:
                return (await client.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(live, within=30, what="the server to start", interval=0.1)


# --- a primary and a streaming replica of its own --------------------------------------------


@dataclass
class Cluster:
    """Two PostgreSQL servers from the embedded package's binaries: a primary and a streaming
    replica made from it with pg_basebackup -R."""

    base: Path
    bin: Path
    user: str | None
    primary_port: int
    replica_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def pg_ctl(self, node: str, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.base / node), "-l", str(self.base / f"{node}.log"), *args)

    def stop_replica(self) -> None:
        self.pg_ctl("replica", "-m", "fast", "-w", "stop")

    def start_replica(self) -> None:
        self.pg_ctl("replica", "-w", "start")


def _server_options(port: int, sockets: Path) -> str:
    return (
        f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{sockets}'\nfsync = off\n"
    )


@contextmanager
def streaming_replica() -> Iterator[Cluster]:
    import pgserver  # its binaries: the same on every machine the tests run on

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    base = Path(tempfile.mkdtemp(prefix="blog-api-cluster-"))
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "pgserver"  # the embedded server's own user (pgserver creates it the same way)
        if not _user_exists(user):
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run([useradd, "-s", "/bin/bash", user], check=True, capture_output=True)
        shutil.chown(base, user)
    cluster = Cluster(base, bin_dir, user, free_port(), free_port())
    started: list[str] = []
    try:
        cluster.run("initdb", "-D", str(base / "primary"), "-U", "postgres", "--auth=trust", "-N")
        with (base / "primary" / "postgresql.conf").open("a") as conf:
            conf.write(_server_options(cluster.primary_port, base))
        cluster.pg_ctl("primary", "-w", "start")
        started.append("primary")
        cluster.run(
            "pg_basebackup",
            *("-D", str(base / "replica"), "-R", "-X", "stream"),
            *("-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres"),
        )
        with (base / "replica" / "postgresql.conf").open("a") as conf:
            conf.write(_server_options(cluster.replica_port, base))
        cluster.start_replica()
        started.append("replica")
        yield cluster
    finally:
        for node in reversed(started):
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(base / node), "-m", "immediate", "stop"],
                user=user,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)


# --- PgBouncer in transaction pooling mode, in front of the test server ----------------------


@dataclass
class Bouncer:
    port: int
    pool_size: int

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def pgbouncer_or_skip() -> str:
    """The pgbouncer program; CI (CI=true) installs it, elsewhere its tests are skipped."""
    program = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    return program


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 3) -> Iterator[Bouncer]:
    """PgBouncer 1.18+ (Debian's) in transaction mode in front of `server_url`'s server, for
    every database on it, with at most `pool_size` server connections per database."""
    program = pgbouncer_or_skip()
    parts = urlsplit(server_url)
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    host = socket_dir or parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    base = Path(tempfile.mkdtemp(prefix="blog-api-pgbouncer-"))
    bouncer = Bouncer(free_port(), pool_size)
    (base / "users.txt").write_text('"postgres" ""\n')
    (base / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={port}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {bouncer.port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {base / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n"
        f"logfile = {base / 'pgbouncer.log'}\npidfile = {base / 'pgbouncer.pid'}\n"
    )
    command = [program, str(base / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        # The embedded server's own user, when it runs one: it may reach that server's socket.
        user = "pgserver" if _user_exists("pgserver") else "nobody"
        shutil.chown(base, user)
        for path in base.iterdir():
            shutil.chown(path, user)
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", bouncer.port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = base / "pgbouncer.log"
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"pgbouncer did not start: {error} {log.read_text()[-2000:]}")
                time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(base, ignore_errors=True)


# --- query plans ------------------------------------------------------------------------------


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


# Reads of these tables that are few rows whatever the table's size: one blog's tags (at most
# MAX_TAGS), found by the blog's id.
_BOUNDED_READS = {"blog_tags": "(blog_id = "}


def _reads_unbounded(node: dict[str, Any], table: str) -> bool:
    if node.get("Relation Name") != table:
        return False
    bound = _BOUNDED_READS.get(table)
    return bound is None or bound not in node.get("Index Cond", "")


def _reaches_unlimited(node: dict[str, Any], table: str) -> bool:
    return any(
        _reads_unbounded(child, table)
        or (child["Node Type"] != "Limit" and _reaches_unlimited(child, table))
        for child in node.get("Plans", [])
    )


def plan_problems(plan: dict[str, Any], tables: set[str]) -> list[str]:
    """What in a plan grows with the size of `tables`: a sequential scan of one, or a sort whose
    input reads one other than through a LIMIT (sorting the newest few blogs of each followed
    author is bounded; sorting the blogs themselves is not)."""
    problems = []
    for node in plan_nodes(plan):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables:
            problems.append(f"sequential scan of {node['Relation Name']}")
        if node["Node Type"] in {"Sort", "Incremental Sort"}:
            problems += [f"sort over {t}" for t in sorted(tables) if _reaches_unlimited(node, t)]
    return problems


async def prepared_plan(
    conn: asyncpg.Connection, sql: str, args: list[Any], *, name: str
) -> dict[str, Any]:
    """The plan of `sql` as a server-side prepared statement `name`, planned the way the
    session's plan_cache_mode says (EXPLAIN of the bare statement would always plan for the
    given values)."""
    await conn.execute(f"PREPARE {name} AS {sql}")
    types = (await conn.prepare(sql)).get_parameters()
    literals = []
    for type_, value in zip(types, args, strict=True):
        type_name = await conn.fetchval("SELECT format_type($1, NULL)", type_.oid)
        literals.append(await conn.fetchval(f"SELECT quote_nullable($1::{type_name})", value))
    explained = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({', '.join(literals)})")
    plan: dict[str, Any] = json.loads(explained)[0]["Plan"]
    return plan
