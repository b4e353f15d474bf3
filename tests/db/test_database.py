"""The `databases` behaviour we rely on, and the test isolation built on it."""

import asyncio
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from httpx import AsyncClient

from service.api.app import create_app
from service.db.database import Connection, Database
from service.db.queries import parse
from service.db.tables import users
from service.db.urls import primary_dsn
from service.errors import DatabaseUnavailable
from service.testing.app import settings_for
from service.testing.databases import connect

pytestmark = pytest.mark.anyio

MARKER_EMAIL = "isolation-marker@example.com"
PID = parse("pid", "-- read-only: yes\nSELECT pg_backend_pid() AS pid")


async def _count_marker(url: str) -> int:
    """Count the marker row from a second, independent connection."""
    async with connect(url) as other:
        count: int = await other.fetchval(
            "SELECT count(*) FROM users WHERE email = $1", MARKER_EMAIL
        )
    return count


async def test_writes_stay_inside_the_test_transaction(
    client: AsyncClient, db: Connection, database_url: str
) -> None:
    response = await client.post(
        "/users", json={"name": "Marker", "email": MARKER_EMAIL, "password": "p" * 8}
    )
    assert response.status_code == 201
    # The app's own connection sees the row ...
    seen = await db.fetch_one(sa.select(sa.func.count()).where(users.c.email == MARKER_EMAIL))
    assert seen is not None
    assert seen[0] == 1
    # ... and no other connection does: it was never committed.
    assert await _count_marker(database_url) == 0


async def test_a_row_written_by_an_earlier_test_is_gone(client: AsyncClient) -> None:
    # Runs after the test above (pytest keeps file order), which created this very email;
    # had its transaction committed, this sign-up would be a 409.
    response = await client.post(
        "/users", json={"name": "Marker", "email": MARKER_EMAIL, "password": "p" * 8}
    )
    assert response.status_code == 201


async def test_the_rollback_fixture_really_rolls_back(database_url: str) -> None:
    """The mechanism itself: what the lifespan wrote is gone after it ends."""
    database = Database(database_url, min_size=1, max_size=1, force_rollback=True)
    app: FastAPI = create_app(settings_for(database_url), database=database)
    async with app.router.lifespan_context(app), database.connection() as conn:
        await conn.fetch_one(
            sa.insert(users)
            .values(name="Marker", email=MARKER_EMAIL, password_hash="x")
            .returning(users.c.id)
        )
        assert await conn.fetch_one(sa.select(users.c.id).where(users.c.email == MARKER_EMAIL))
    assert await _count_marker(database_url) == 0


async def test_a_connection_block_holds_one_backend(database_url: str) -> None:
    database = Database(database_url, min_size=2, max_size=2)
    await database.connect()
    try:
        async with database.connection() as conn:
            pids = {(await conn.fetch_row(PID))["pid"] for _ in range(5)}
            core_pid = (await conn.fetch_one(sa.select(sa.func.pg_backend_pid())))[0]
        assert len(pids) == 1
        assert core_pid in pids
    finally:
        await database.disconnect()


async def test_a_connection_is_acquired_on_first_use_only(database_url: str) -> None:
    database = Database(database_url, min_size=0, max_size=1)
    await database.connect()
    try:
        async with database.connection() as conn:
            assert not conn.acquired
            await conn.fetch_row(PID)
            assert conn.acquired
        assert not conn.acquired
    finally:
        await database.disconnect()


async def test_concurrent_tasks_get_their_own_connections(database_url: str) -> None:
    database = Database(database_url, min_size=2, max_size=2)
    await database.connect()
    started = asyncio.Event()

    async def hold() -> int:
        async with database.connection() as conn:
            pid = (await conn.fetch_row(PID))["pid"]
            started.set()
            await asyncio.sleep(0.2)
            return pid

    async def other() -> int:
        await started.wait()
        async with database.connection() as conn:
            return (await conn.fetch_row(PID))["pid"]

    try:
        first, second = await asyncio.gather(hold(), other())
        assert first != second
    finally:
        await database.disconnect()


async def test_rows_come_back_with_python_types(db: Connection) -> None:
    # `Record._mapping` is the raw asyncpg record: no SQLAlchemy result processing. Check the
    # types our columns need arrive as they should anyway.
    row = await db.fetch_one(
        sa.insert(users)
        .values(name="Typed", email="typed@example.com", password_hash="x")
        .returning(users.c.id, users.c.name, users.c.created_at)
    )
    assert row is not None
    assert isinstance(row["id"], int)
    assert isinstance(row["name"], str)
    assert isinstance(row["created_at"], datetime)
    assert row["created_at"].tzinfo is not None
    assert dict(row).keys() == {"id", "name", "created_at"}


async def test_a_failed_transaction_leaves_nothing(db: Connection) -> None:
    raw = await db.raw()
    with pytest.raises(RuntimeError):
        async with raw.transaction():
            await raw.execute(
                "INSERT INTO users (name, email, password_hash) VALUES ('Half', $1, 'x')",
                "half@example.com",
            )
            raise RuntimeError("fail between two statements")
    left = await db.fetch_one(sa.select(users.c.id).where(users.c.email == "half@example.com"))
    assert left is None


async def test_an_exhausted_pool_times_out_instead_of_waiting(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1, acquire_timeout=0.2)
    await database.connect()
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        # Another task: within one task `databases` hands back the connection it already holds.
        async with database.connection() as conn:
            await conn.fetch_row(PID)
            held.set()
            await release.wait()

    try:
        holder = asyncio.create_task(hold())
        await held.wait()
        with pytest.raises(DatabaseUnavailable, match="no database connection is free"):
            async with asyncio.timeout(5), database.connection() as conn:
                await conn.fetch_row(PID)
        release.set()
        await holder
        # Once released, the connection is there for the next caller.
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"] > 0
    finally:
        await database.disconnect()


async def test_an_unreachable_server_is_unavailable_not_an_error() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/none", min_size=0, acquire_timeout=2)
    await database.connect()
    try:
        with pytest.raises(DatabaseUnavailable):
            async with database.connection() as conn:
                await conn.fetch_row(PID)
        assert await database.ping() is False
    finally:
        await database.disconnect()


async def _terminate(url: str, pids: list[int]) -> None:
    async with connect(url) as admin:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)


async def test_a_read_is_retried_once_on_a_fresh_connection(database_url: str) -> None:
    database = Database(database_url, min_size=2, max_size=2)
    await database.connect()
    try:
        async with database.connection() as conn:
            first = (await conn.fetch_row(PID))["pid"]
            await _terminate(database_url, [first])
            second = (await conn.fetch_row(PID))["pid"]
        assert second != first
    finally:
        await database.disconnect()


async def test_a_write_is_not_retried(database_url: str) -> None:
    write = parse(
        "write",
        "-- read-only: no\nUPDATE users SET name = name WHERE id = -1 RETURNING pg_backend_pid()",
    )
    database = Database(database_url, min_size=1, max_size=1)
    await database.connect()
    try:
        with pytest.raises(DatabaseUnavailable, match="connection was lost"):
            async with database.connection() as conn:
                pid = (await conn.fetch_row(PID))["pid"]
                await _terminate(database_url, [pid])
                await conn.fetch_rows(write)
        # The pool replaced the broken connection: the next unit of work just works.
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"] != pid
    finally:
        await database.disconnect()


async def test_after_every_connection_is_killed_the_pool_recovers(database_url: str) -> None:
    database = Database(database_url, min_size=3, max_size=3)
    await database.connect()
    try:
        async with connect(database_url) as admin:
            pids = await admin.fetchval(
                "SELECT array_agg(pid) FROM pg_stat_activity "
                "WHERE application_name = 'blog-api' AND datname = current_database()"
            )
        await _terminate(database_url, pids)
        for _ in range(5):
            async with database.connection() as conn:
                assert (await conn.fetch_row(PID))["pid"] not in pids
        assert await database.ping()
    finally:
        await database.disconnect()


async def test_closing_a_connection_whose_server_is_gone_raises_nothing(database_url: str) -> None:
    """The pool closes expired connections on release; one whose server side is already gone
    fails to send its goodbye (BrokenPipeError, ConnectionResetError): that is no error of the
    request's. Reading is paused so the client has not noticed the loss when it closes, which
    is the race a busy event loop loses now and then."""
    database = Database(database_url, min_size=1, max_size=1)
    await database.connect()
    try:
        async with database.connection() as conn:
            raw = await conn.raw()
            pid = await raw.fetchval("SELECT pg_backend_pid()")
            transport = raw._transport
            transport.pause_reading()
            async with connect(database_url) as admin:
                # With a timeout, pg_terminate_backend waits until the backend has exited.
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
            # A first write reaches the closed socket, whose answer (a reset) makes the next
            # one, the close's Terminate message, fail locally.
            transport.write(b"S\x00\x00\x00\x04")
            await asyncio.sleep(0.2)
            await database._expire_connections()
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"] != pid
    finally:
        await database.disconnect()


async def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1)
    await database.connect()
    try:
        async with database.connection() as conn:
            raw = await conn.raw()
            await raw.execute("BEGIN; CREATE TEMP TABLE left_open (n int)")
            assert raw.is_in_transaction()
        # The same (only) pooled connection, back in a clean state.
        async with database.connection() as conn:
            raw = await conn.raw()
            assert not raw.is_in_transaction()
            assert await raw.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await database.disconnect()


SLEEP = parse("sleep", "-- read-only: yes\nSELECT pg_sleep(:seconds::float8)")


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        pytest.param(
            {"statement_timeout_ms": 100, "command_timeout": 30},
            "the database is busy",
            id="statement_timeout",
        ),
        pytest.param(
            {"statement_timeout_ms": 0, "command_timeout": 0.2},
            "the database did not answer in time",
            id="command_timeout",
        ),
    ],
)
async def test_a_statement_over_budget_is_unavailable_and_the_connection_stays(
    database_url: str, pool: dict, message: str
) -> None:
    database = Database(database_url, min_size=1, max_size=1, **pool)
    await database.connect()
    try:
        async with database.connection() as conn:
            before = (await conn.fetch_row(PID))["pid"]
            with pytest.raises(DatabaseUnavailable, match=message):
                await conn.fetch_row(SLEEP, seconds=2)
            with pytest.raises(DatabaseUnavailable, match=message):
                await conn.fetch_one(sa.select(sa.func.pg_sleep(2)))
            # Cancelled, not broken: the same connection answers the next statement.
            assert (await conn.fetch_row(PID))["pid"] == before
    finally:
        await database.disconnect()


async def test_a_lost_connection_under_a_core_statement_is_unavailable(database_url: str) -> None:
    database = Database(database_url, min_size=1, max_size=1)
    await database.connect()
    try:
        with pytest.raises(DatabaseUnavailable, match="connection was lost"):
            async with database.connection() as conn:
                pid = (await conn.fetch_row(PID))["pid"]
                await _terminate(database_url, [pid])
                await conn.fetch_one(sa.select(sa.func.pg_backend_pid()))
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"] != pid
    finally:
        await database.disconnect()


async def test_a_server_lost_between_statements_is_a_failover_refusal(database_url: str) -> None:
    """The server goes away while no statement runs: the pool makes a new connection when one
    is next checked out, which fails. No statement failed, yet the refusal is one of a failover
    (the server was reached before), not of a database never seen."""
    parts = urlsplit(database_url)
    upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()

    async def serve(client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(*upstream)
        await asyncio.gather(forward(client, to_server), forward(server, to_client))

    proxy = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
    database = Database(urlunsplit(parts._replace(netloc=netloc)), min_size=1, max_size=1)
    await database.connect()
    try:
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"]
        proxy.close()
        await proxy.wait_closed()
        # What the pool does with a connection it saw close: a new one at the next checkout.
        await database._expire_connections()
        with pytest.raises(DatabaseUnavailable, match="unavailable") as refused:
            async with database.connection() as conn:
                await conn.fetch_row(PID)
        assert refused.value.reason == "database_down"
        assert refused.value.during_failover
        assert database.lost_since is not None
    finally:
        await database.disconnect()


async def test_a_write_on_a_server_turned_read_only_is_unavailable_and_renews_the_pool(
    database_url: str,
) -> None:
    # What a demoted primary looks like to a connection that outlived the failover.
    write = parse(
        "write",
        "-- read-only: no\nUPDATE users SET name = name WHERE id = -1 RETURNING pg_backend_pid()",
    )
    database = Database(database_url, min_size=1, max_size=1)
    await database.connect()
    try:
        with pytest.raises(DatabaseUnavailable, match="switching servers") as refused:
            async with database.connection() as conn:
                pid = (await conn.fetch_row(PID))["pid"]
                await (await conn.raw()).execute("SET default_transaction_read_only = on")
                await conn.fetch_rows(write)
        assert refused.value.reason == "read_only"
        assert refused.value.during_failover
        # That connection is gone from the pool: the next write gets one that takes writes.
        async with database.connection() as conn:
            assert (await conn.fetch_rows(write)) == []
            assert (await conn.fetch_row(PID))["pid"] != pid
        assert database.lost_since is None
    finally:
        await database.disconnect()


async def test_a_url_naming_several_hosts_reaches_the_one_that_takes_writes(
    database_url: str,
) -> None:
    parts = urlsplit(database_url)
    if parts.hostname is None:
        pytest.skip("the test server is reached through a Unix socket")
    # Nothing listens on port 1: the pool goes on to the next host, as after a failover.
    user = parts.netloc.rpartition("@")[0]
    authority = f"{user}@127.0.0.1:1,{parts.hostname}:{parts.port or 5432}"
    several = urlunsplit(parts._replace(netloc=authority))
    reached: list[str] = []
    database = Database(primary_dsn(several), min_size=1, max_size=1)
    database.on_connect = reached.append
    await database.connect()
    try:
        async with database.connection() as conn:
            assert (await conn.fetch_row(PID))["pid"] > 0
        assert reached == [database.server]
        assert database.server is not None and database.server.endswith(f":{parts.port or 5432}")
    finally:
        await database.disconnect()
