"""Real failures: a full pool, slow statements, killed and stopped databases, clients that hang up,
and SIGTERM under load.

Faults are made for real: row and table locks held from a second connection, pg_terminate_backend,
an embedded PostgreSQL of this module's own stopped and started again, and the service run as a
real server process where sockets and signals matter. Connections are counted in
pg_stat_activity (the pool sets application_name 'blog-api'), always within the test's own
database, so other users of a shared server are never counted or touched.

Hostile input (oversized, malformed or injected bodies, bad tokens, ids out of range) is tested
where it is handled: tests/api/middleware/test_body_limit.py, tests/api/test_error_handlers.py,
tests/api/test_parameters.py, tests/api/routes/.
"""

import asyncio
import json
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.db import embedded
from service.testing.accounts import sign_up_with
from service.testing.databases import ScratchDatabase, connect, create_database, fetchval
from tests.support.api import write_blog
from tests.support.project import APP_NAME
from tests.support.servers import in_process, serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

# A request that must fail fast because of a fault must fail within this many seconds: far less
# than the locks it would otherwise wait on (held until the test lets go), with room for a busy
# two-core machine.
QUICK = 5.0

Request = Callable[[], Awaitable[httpx.Response]]


# --- waiting and counting ------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    pid: int
    state: str | None
    wait_event_type: str | None
    query: str


async def backends(url: str) -> list[Backend]:
    """The service's server processes in this URL's database."""
    async with connect(url) as conn:
        rows = await conn.fetch(
            "SELECT pid, state, wait_event_type, query FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()"
            " AND pid <> pg_backend_pid()",
            APP_NAME,
        )
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
    async with connect(url) as conn:
        rows = await conn.fetch(
            "SELECT pid, pg_terminate_backend(pid) AS gone FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()"
            " AND pid <> pg_backend_pid()",
            APP_NAME,
        )
    assert rows and all(row["gone"] for row in rows), rows
    return [row["pid"] for row in rows]


@asynccontextmanager
async def locked(url: str, statement: str, *args: Any) -> AsyncIterator[None]:
    """Run `statement` (a locking one) in a transaction held open from a second connection."""
    async with connect(url) as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(statement, *args)
            yield
        finally:
            await transaction.rollback()


def row_locked(url: str, blog_id: int) -> Any:
    return locked(url, "SELECT 1 FROM blogs WHERE id = $1 FOR UPDATE", blog_id)


def table_locked(url: str) -> Any:
    return locked(url, "LOCK TABLE blogs IN ACCESS EXCLUSIVE MODE")


async def blog_title(url: str, blog_id: int) -> str | None:
    title: str | None = await fetchval(url, "SELECT title FROM blogs WHERE id = $1", blog_id)
    return title


async def new_blog(
    client: httpx.AsyncClient, headers: dict[str, str], title: str = "Original"
) -> int:
    blog_id: int = (await write_blog(client, headers, title=title))["id"]
    return blog_id


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
    pgserver = embedded.import_pgserver()
    with tempfile.TemporaryDirectory(prefix="blog-api-faults-") as data_dir:
        server = pgserver.get_server(Path(data_dir), cleanup_mode="stop")
        try:
            url = asyncio.run(create_database(server.get_uri(), "faults"))
            yield OwnServer(server, url)
        finally:
            server.cleanup()


# --- the pool under faults -----------------------------------------------------------------


async def test_an_exhausted_pool_answers_503_quickly_and_recovers(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=0.5) as client:
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
        async with row_locked(url, blog_id):
            # This request takes the pool's only connection and waits on the row lock.
            edit = asyncio.create_task(
                client.patch(f"/blogs/{blog_id}", json={"title": "Edited"}, headers=account.headers)
            )
            await wait_until_blocked(url, 1)
            busy, elapsed = await timed(client.get(f"/blogs/{blog_id}"))
            assert_unavailable(busy, elapsed)
            assert busy.json()["detail"] == "no database connection is free; try again"
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
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
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
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
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
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
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
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
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
        account = await sign_up_with(client)
        blog_id = await new_blog(client, account.headers)
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
        account = await sign_up_with(client)
        first = await new_blog(client, account.headers, "First")
        second = await new_blog(client, account.headers, "Second")
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
