"""Real failures: a full pool, slow statements, killed and stopped databases, clients that hang up,
SIGTERM under load, and hostile input.

Faults are made for real: row and table locks held from a second connection, pg_terminate_backend,
an embedded PostgreSQL of this module's own stopped and started again, and the service run as a
real server process where sockets and signals matter. Connections are counted in
pg_stat_activity (the pool sets application_name 'blog-api'), always within the test's own
database, so other users of a shared server are never counted or touched.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db import migrations
from service.db.database import Database
from service.db.urls import asyncpg_dsn
from tests.conftest import PASSWORD, TOKEN_SECRET, ScratchDatabase, SignUp, settings_for

pytestmark = pytest.mark.anyio

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "blog-api"
MAX_ID = 2**63 - 1
# A request that must fail fast because of a fault must fail within this many seconds: far less
# than the locks it would otherwise wait on (held until the test lets go), with room for a busy
# two-core machine.
QUICK = 5.0

Request = Callable[[], Awaitable[httpx.Response]]


# --- waiting and counting ------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Poll `check` until it is true; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class Backend:
    pid: int
    state: str | None
    wait_event_type: str | None
    query: str


async def backends(url: str) -> list[Backend]:
    """The service's server processes in this URL's database."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT pid, state, wait_event_type, query FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()"
            " AND pid <> pg_backend_pid()",
            APP_NAME,
        )
    finally:
        await conn.close()
    return [Backend(**dict(row)) for row in rows]


async def wait_until_blocked(url: str, count: int) -> None:
    async def blocked() -> bool:
        return sum(b.wait_event_type == "Lock" for b in await backends(url)) >= count

    await eventually(blocked, within=10, what=f"{count} requests to wait on a lock")


async def wait_until_settled(url: str, *, at_most: int) -> list[Backend]:
    """Wait until no service connection runs a statement or sits in a transaction."""
    found: list[Backend] = []

    async def settled() -> bool:
        nonlocal found
        found = await backends(url)
        return all(b.state == "idle" for b in found)

    await eventually(settled, within=5, what="service connections to become idle")
    assert len(found) <= at_most, found
    return found


async def terminate_service_connections(url: str) -> list[int]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT pid, pg_terminate_backend(pid) AS gone FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()"
            " AND pid <> pg_backend_pid()",
            APP_NAME,
        )
    finally:
        await conn.close()
    assert rows and all(row["gone"] for row in rows), rows
    return [row["pid"] for row in rows]


@asynccontextmanager
async def locked(url: str, statement: str, *args: Any) -> AsyncIterator[None]:
    """Run `statement` (a locking one) in a transaction held open from a second connection."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(statement, *args)
            yield
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


def row_locked(url: str, blog_id: int) -> Any:
    return locked(url, "SELECT 1 FROM blogs WHERE id = $1 FOR UPDATE", blog_id)


def table_locked(url: str) -> Any:
    return locked(url, "LOCK TABLE blogs IN ACCESS EXCLUSIVE MODE")


async def blog_title(url: str, blog_id: int) -> str | None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetchval("SELECT title FROM blogs WHERE id = $1", blog_id)
    finally:
        await conn.close()


# --- the service, in process and as a real server -----------------------------------------


@dataclass
class Account:
    id: int
    headers: dict[str, str]


async def register(client: AsyncClient, name: str = "Ada") -> Account:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    created = await client.post("/users", json={"name": name, "email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(
        created.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}
    )


async def write_blog(client: AsyncClient, headers: dict[str, str], title: str = "Original") -> int:
    response = await client.post("/blogs", json={"title": title, "body": "text"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@asynccontextmanager
async def in_process(url: str, **pool: Any) -> AsyncIterator[AsyncClient]:
    """The app on a real pool (it really commits), driven through ASGI in this task."""
    app = create_app(settings_for(url), database=Database(url, **pool))
    # An exception escaping the app becomes the 500 a real server would send.
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
async def serving(url: str, **settings: str) -> AsyncIterator[Server]:
    """`python -m service serve` on a free loopback port, killed at the end if still running."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": url,
        "TOKEN_SECRET": TOKEN_SECRET,
        "MIGRATE_ON_START": "false",
        "LOG_LEVEL": "warning",
        **settings,
    }
    with tempfile.TemporaryDirectory(prefix="blog-api-serve-") as workdir:
        log = Path(workdir) / "server.log"
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
            )
        server = Server(process, port, log)
        try:
            await _wait_until_live(server)
            yield server
        finally:
            if process.returncode is None:
                process.kill()
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


async def timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    async with asyncio.timeout(30):
        response = await request
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, elapsed: float) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("retry-after", "").isdigit(), response.headers
    assert elapsed < QUICK, f"503 took {elapsed:.2f} s"


# --- an embedded PostgreSQL to stop and start ------------------------------------------------


@dataclass
class OwnServer:
    server: Any
    url: str

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        # Starts it with the options it first had (same socket directory, so the same URL) and
        # records the new postmaster, which cleanup() then stops.
        with self.server._lock:
            self.server.ensure_postgres_running()


@pytest.fixture(scope="module")
def own_server() -> Iterator[OwnServer]:
    import pgserver

    with tempfile.TemporaryDirectory(prefix="blog-api-faults-") as data_dir:
        server = pgserver.get_server(Path(data_dir), cleanup_mode="stop")
        try:
            url = server.get_uri("faults")
            asyncio.run(_create_database(server.get_uri(), "faults"))
            asyncio.run(migrations.migrate(url))
            yield OwnServer(server, url)
        finally:
            server.cleanup()


async def _create_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# --- the pool under faults -----------------------------------------------------------------


async def test_an_exhausted_pool_answers_503_quickly_and_recovers(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=0.5) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        async with row_locked(url, blog_id):
            # This request takes the pool's only connection and waits on the row lock.
            edit = asyncio.create_task(
                client.patch(f"/blogs/{blog_id}", json={"title": "Edited"}, headers=account.headers)
            )
            await wait_until_blocked(url, 1)
            busy, elapsed = await timed(client.get(f"/blogs/{blog_id}"))
            assert_unavailable(busy, elapsed)
            assert busy.json() == {"detail": "no database connection is free; try again"}
            assert not edit.done()
        async with asyncio.timeout(10):
            edited = await edit
        assert edited.status_code == 200, edited.text
        read = await client.get(f"/blogs/{blog_id}")
        assert read.status_code == 200
        assert read.json()["title"] == "Edited"
        await wait_until_settled(url, at_most=1)


@pytest.mark.parametrize(
    "pool",
    [
        pytest.param({"statement_timeout_ms": 300, "command_timeout": 30}, id="statement_timeout"),
        pytest.param({"statement_timeout_ms": 0, "command_timeout": 0.5}, id="command_timeout"),
    ],
)
async def test_a_statement_over_budget_is_503_and_leaves_the_connection_healthy(
    scratch_database: ScratchDatabase, pool: dict[str, Any]
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=5, **pool) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        [before] = await backends(url)
        async with row_locked(url, blog_id):
            slow, elapsed = await timed(
                client.patch(f"/blogs/{blog_id}", json={"title": "Edited"}, headers=account.headers)
            )
            assert slow.status_code in (503, 504), (slow.status_code, slow.text)
            assert elapsed < QUICK, f"the timeout took {elapsed:.2f} s"
            # Cancelled on the server too, while the lock is still held: nothing waits on it and
            # no transaction is left open.
            [after] = await wait_until_settled(url, at_most=1)
        assert after.pid == before.pid, "the pool replaced a connection a timeout left healthy"
        assert await blog_title(url, blog_id) == "Original"
        read = await client.get(f"/blogs/{blog_id}")
        assert read.status_code == 200
        edited = await client.patch(
            f"/blogs/{blog_id}", json={"title": "Edited"}, headers=account.headers
        )
        assert edited.status_code == 200, edited.text
        assert [b.pid for b in await backends(url)] == [before.pid]


async def test_a_read_whose_connection_is_terminated_mid_query_is_retried(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=2) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        async with table_locked(url):
            read = asyncio.create_task(client.get(f"/blogs/{blog_id}"))
            await wait_until_blocked(url, 1)
            killed = set(await terminate_service_connections(url))

            async def retried_or_answered() -> bool:
                fresh = [b for b in await backends(url) if b.pid not in killed]
                return read.done() or any(b.wait_event_type == "Lock" for b in fresh)

            await eventually(retried_or_answered, within=5, what="the read to be retried")
        async with asyncio.timeout(10):
            response = await read
        assert response.status_code == 200, (response.status_code, response.text)
        assert response.json()["title"] == "Original"
        assert not {b.pid for b in await backends(url)} & killed


async def test_terminated_connections_give_503_never_500_and_the_service_recovers(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=2, max_size=2, acquire_timeout=2) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        async with row_locked(url, blog_id):
            edit = asyncio.create_task(
                client.patch(f"/blogs/{blog_id}", json={"title": "Edited"}, headers=account.headers)
            )
            await wait_until_blocked(url, 1)
            # The blocked writer's connection and the idle one with it.
            killed = set(await terminate_service_connections(url))
            started = time.monotonic()
            async with asyncio.timeout(10):
                edited = await edit
            # Answered while the lock is still held: the write was not waited for, nor retried.
            assert_unavailable(edited, time.monotonic() - started)
        assert await blog_title(url, blog_id) == "Original"

        requests: list[Request] = [
            lambda: client.get("/users/me", headers=account.headers),
            lambda: client.post(
                "/blogs", json={"title": "t", "body": "b"}, headers=account.headers
            ),
            lambda: client.patch(f"/blogs/{blog_id}", json={"body": "b2"}, headers=account.headers),
            lambda: client.get(f"/blogs/{blog_id}"),
            lambda: client.get("/blogs"),
            lambda: client.get("/health/ready"),
        ]
        rounds: list[list[int]] = []
        for _ in range(5):
            statuses = [(await timed(request()))[0].status_code for request in requests]
            rounds.append(statuses)
            assert set(statuses) <= {200, 201, 503}, rounds
            if set(statuses) <= {200, 201}:
                break
        assert set(rounds[-1]) <= {200, 201}, f"not recovered after 5 rounds: {rounds}"
        live = await wait_until_settled(url, at_most=2)
        assert not {b.pid for b in live} & killed


async def test_a_stopped_database_gives_503_quickly_and_a_restarted_one_is_used_again(
    own_server: OwnServer,
) -> None:
    pool = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "2", "DB_ACQUIRE_TIMEOUT": "2"}
    async with serving(own_server.url, **pool) as server, server.client(timeout=30) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        await asyncio.to_thread(own_server.stop)
        try:
            requests: list[Request] = [
                lambda: client.get("/health/ready"),
                lambda: client.get(f"/blogs/{blog_id}"),
                lambda: client.get("/blogs"),
                lambda: client.post(
                    "/blogs", json={"title": "t", "body": "b"}, headers=account.headers
                ),
            ]
            for _ in range(2):
                for request in requests:
                    assert_unavailable(*await timed(request()))
            assert (await client.get("/health")).status_code == 200
        finally:
            await asyncio.to_thread(own_server.start)

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await eventually(ready, within=20, what="/health/ready after the restart", interval=0.2)
        assert server.process.returncode is None
        read = await client.get(f"/blogs/{blog_id}")
        assert read.status_code == 200, read.text
        assert read.json()["title"] == "Original"
        assert (await client.get("/users/me", headers=account.headers)).status_code == 200
        new = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=account.headers)
        assert new.status_code == 201, new.text
        assert len(await backends(own_server.url)) <= 2


async def test_a_client_that_hangs_up_mid_request_leaks_nothing(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    pool = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "1", "DB_ACQUIRE_TIMEOUT": "2"}
    async with serving(url, **pool) as server, server.client(timeout=10) as client:
        account = await register(client)
        blog_id = await write_blog(client, account.headers)
        body = json.dumps({"title": "Edited"}).encode()
        request = (
            f"PATCH /blogs/{blog_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {account.headers['Authorization']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        async with row_locked(url, blog_id):
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            await writer.drain()
            await wait_until_blocked(url, 1)
            writer.close()
            await writer.wait_closed()
            await asyncio.sleep(0.3)
        await wait_until_settled(url, at_most=1)
        # With one pooled connection, a leaked one would make this wait and fail with 503.
        read, elapsed = await timed(client.get(f"/blogs/{blog_id}"))
        assert read.status_code == 200, read.text
        assert elapsed < QUICK
        assert read.json()["title"] in {"Original", "Edited"}
        assert (await client.get("/health/ready")).status_code == 200
        assert server.process.returncode is None


async def test_sigterm_finishes_in_flight_requests_and_exits_cleanly(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    pool = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "6"}
    async with serving(url, **pool) as server, server.client(timeout=30) as client:
        account = await register(client)
        first = await write_blog(client, account.headers, "First")
        second = await write_blog(client, account.headers, "Second")
        async with table_locked(url):
            in_flight = [
                asyncio.create_task(request)
                for request in (
                    client.get(f"/blogs/{first}"),
                    client.get("/blogs", params={"limit": 5}),
                    client.get(f"/users/{account.id}/blogs"),
                    client.patch(
                        f"/blogs/{second}", json={"title": "Edited"}, headers=account.headers
                    ),
                    client.post(
                        "/blogs", json={"title": "Late", "body": "b"}, headers=account.headers
                    ),
                )
            ]
            await wait_until_blocked(url, len(in_flight))
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await asyncio.sleep(1)
            assert server.process.returncode is None, "exited with requests in flight"
            with pytest.raises(httpx.TransportError):
                async with server.client(timeout=2) as newcomer:
                    await newcomer.get("/health")
        async with asyncio.timeout(15):
            responses = await asyncio.gather(*in_flight)
            code = await server.process.wait()
        exited_after = time.monotonic() - signalled
        assert [r.status_code for r in responses] == [200, 200, 200, 200, 201], [
            (r.status_code, r.text) for r in responses
        ]
        assert exited_after < 10, f"exited {exited_after:.1f} s after SIGTERM"
        # Nothing was lost: the edit and the new blog were committed.
        assert await blog_title(url, second) == "Edited"
        assert await blog_title(url, responses[4].json()["id"]) == "Late"

        async def disconnected() -> bool:
            return not await backends(url)

        await eventually(disconnected, within=5, what="the pool's connections to close")
        # A clean shutdown is a clean exit: 0, not death by the signal (-15, shell status 143).
        assert code == 0, f"exit status {code}; server output:\n{server.output()}"


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with serving(url, DB_POOL_MIN_SIZE="0") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(
                b"POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2097152\r\n\r\n" + b'{"name": "' + b"x" * 1000
            )
            await writer.drain()
            async with asyncio.timeout(QUICK):
                status_line = await reader.readline()
        finally:
            writer.close()
            await writer.wait_closed()
        assert status_line.split()[1:2] == [b"413"], status_line


# --- hostile input ---------------------------------------------------------------------------

TWO_MIB = 2 * 1024 * 1024


async def test_bodies_over_the_limit_are_413(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    big = "x" * TWO_MIB
    responses = [
        await client.post("/blogs", json={"title": "t", "body": big}, headers=account.headers),
        await client.post("/users", json={"name": big, "email": "a@b.c", "password": PASSWORD}),
        await client.post("/auth/token", data={"username": big, "password": PASSWORD}),
        await client.patch("/users/me", json={"name": big}, headers=account.headers),
    ]
    assert [r.status_code for r in responses] == [413] * 4
    page = await client.get("/blogs", params={"author_id": account.id})
    assert page.json()["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        f"/blogs/{MAX_ID + 1}",
        f"/users/{MAX_ID + 1}",
        f"/users/{MAX_ID + 1}/blogs",
        f"/blogs?author_id={MAX_ID + 1}",
        "/blogs/99999999999999999999999999999999999999",
        "/blogs/0",
        "/blogs/-1",
        "/blogs/1e3",
        "/blogs/0x10",
        f"/users/{'9' * 5000}",
    ],
)
async def test_ids_out_of_range_are_422(client: AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422, response.text


async def test_ids_out_of_range_in_writes_are_422(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method, f"/blogs/{MAX_ID + 1}", json={"title": "t"}, headers=account.headers
        )
        assert response.status_code == 422, (method, response.text)


@pytest.mark.parametrize("limit", ["101", "1000000", "1" + "0" * 40, "0", "-1", "abc", "1.5"])
@pytest.mark.parametrize("path", ["/blogs", "/users", "/users/1/blogs"])
async def test_page_sizes_out_of_range_are_422(client: AsyncClient, path: str, limit: str) -> None:
    response = await client.get(path, params={"limit": limit})
    assert response.status_code == 422, response.text


@pytest.fixture
async def lenient(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """Like `client`, but an exception escaping the app is the 500 a real server would send."""
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_nul_characters_are_refused_with_4xx(lenient: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    blog_id = await write_blog(lenient, account.headers)
    nul = "a\x00b"
    attempts: dict[str, Request] = {
        "sign-up name": lambda: lenient.post(
            "/users", json={"name": nul, "email": "nul@example.com", "password": PASSWORD}
        ),
        "sign-up email": lambda: lenient.post(
            "/users", json={"name": "n", "email": f"{nul}@example.com", "password": PASSWORD}
        ),
        "blog title": lambda: lenient.post(
            "/blogs", json={"title": nul, "body": "b"}, headers=account.headers
        ),
        "blog body": lambda: lenient.post(
            "/blogs", json={"title": "t", "body": nul}, headers=account.headers
        ),
        "edited title": lambda: lenient.patch(
            f"/blogs/{blog_id}", json={"title": nul}, headers=account.headers
        ),
        "new name": lambda: lenient.patch("/users/me", json={"name": nul}, headers=account.headers),
        "q": lambda: lenient.get("/blogs", params={"q": nul}),
        "cursor": lambda: lenient.get("/blogs", params={"cursor": nul}),
        "login password": lambda: lenient.post(
            "/auth/token", data={"username": "x@example.com", "password": nul * 4}
        ),
    }
    statuses = {what: (await request()).status_code for what, request in attempts.items()}
    assert {what: code for what, code in statuses.items() if not 400 <= code < 500} == {}


async def test_a_nul_in_a_login_email_is_4xx(scratch_database: ScratchDatabase) -> None:
    # On a real pool: in the rolled-back test transaction a failed statement would poison the
    # requests after it.
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1) as client:
        await register(client)
        login = await client.post(
            "/auth/token", data={"username": "a\x00b@example.com", "password": PASSWORD}
        )
        assert 400 <= login.status_code < 500, (login.status_code, login.text)


INVALID_UTF8 = [
    ("/users", "application/json", b'{"name": "\xff\xfe", "email": "a@b.c", "password": "p"}'),
    ("/blogs", "application/json", b'{"title": "\xc3\x28", "body": "b"}'),
    ("/auth/token", "application/x-www-form-urlencoded", b"username=\xff\xfe&password=pw"),
    ("/auth/token", "application/x-www-form-urlencoded", b"username=%ff%fe&password=%c3%28"),
    # Valid UTF-8 JSON, but escapes of lone surrogates: no valid Unicode string holds them.
    ("/blogs", "application/json", b'{"title": "a\\ud800b", "body": "b"}'),
    (
        "/users",
        "application/json",
        b'{"name": "n", "email": "a@b.c", "password": "\\udfff1234567"}',
    ),
]

NESTED_JSON = [
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b', "body": "b"}',
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


async def test_invalid_utf8_and_deeply_nested_bodies_are_4xx(
    lenient: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    sent = [*INVALID_UTF8]
    sent += [
        (path, "application/json", body) for body in NESTED_JSON for path in ("/blogs", "/users")
    ]
    wrong = {}
    for path, content_type, body in sent:
        response = await lenient.post(
            path, content=body, headers=account.headers | {"content-type": content_type}
        )
        if not 400 <= response.status_code < 500:
            wrong[(path, body[:40])] = (response.status_code, response.text[:200])
    assert not wrong, wrong


INJECTIONS = [
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE blogs;--",
    "%",
    "_",
    "\\",
    "100%_off\\_really",
    "' OR '1'='1",
    "\"double\" and 'single' quotes",
    "$1 $$ $$ ::text",
    "ünïcödé ☃ 😀 漢字",
    "a%b_c\\d",
]


async def test_sql_metacharacters_round_trip_as_data(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Robert'); DROP TABLE users;--")
    profile = await client.get(f"/users/{account.id}")
    assert profile.json()["name"] == "Robert'); DROP TABLE users;--"
    ids: dict[str, int] = {}
    for text in [*INJECTIONS, "plain title"]:
        created = await client.post(
            "/blogs", json={"title": text, "body": text}, headers=account.headers
        )
        assert created.status_code == 201, (text, created.text)
        ids[text] = created.json()["id"]
        read = (await client.get(f"/blogs/{ids[text]}")).json()
        assert (read["title"], read["body"]) == (text, text)
    for q in INJECTIONS:
        page = await client.get("/blogs", params={"q": q, "author_id": account.id, "limit": 100})
        assert page.status_code == 200, (q, page.text)
        found = {item["id"] for item in page.json()["items"]}
        expected = {ids[title] for title in ids if q.lower() in title.lower()}
        assert found == expected, q
    assert (await client.get("/users", params={"limit": 1})).status_code == 200


def _token(claims: dict[str, Any], secret: str = TOKEN_SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 600} | claims, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "x" * 20_000,
        _token({"sub": "1"}, secret="another-secret-" + "y" * 32),
        _token({"sub": str(MAX_ID + 1)}),
        _token({"sub": "-1"}),
        _token({"sub": "1e3"}),
        _token({"sub": "ünï"}),
        _token({"sub": "1", "iat": "yesterday"}),
        _token({"sub": "1", "iat": 10**20}),
        jwt.encode({"sub": "1", "iat": 0, "exp": 2**40}, key=None, algorithm="none"),
    ],
    ids=lambda token: token[:24],
)
async def test_bad_tokens_are_401(client: AsyncClient, token: str) -> None:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_hostile_preconditions_are_4xx_or_honoured(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    blog_id = await write_blog(client, account.headers)
    tags = ['"ffffffffffffffffffffffffffff.x"', '"zz.y"', 'W/"1"', '"', ",,,", "é".encode()]
    for tag in tags:
        edit = await client.patch(
            f"/blogs/{blog_id}",
            json={"title": "Edited"},
            headers=account.headers | {"If-Match": tag},
        )
        assert edit.status_code == 412, (tag, edit.status_code, edit.text)
        read = await client.get(f"/blogs/{blog_id}", headers={"If-None-Match": tag})
        assert read.status_code == 200, (tag, read.status_code)
    for cursor in ["A" * 200, ".", "..", "a.b", "ünï.cödé", "e30.AAAAAAAAAAAAAAAAAAAAAA"]:
        page = await client.get("/blogs", params={"cursor": cursor})
        assert page.status_code == 422, (cursor, page.text)
