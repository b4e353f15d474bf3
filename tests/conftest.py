"""Fixtures: a real PostgreSQL, and an app whose every test runs in a transaction rolled back.

The server is TEST_DATABASE_URL when set, otherwise an embedded one started for the run.

Isolation: the app under test gets a `Database(force_rollback=True)`, which holds one connection
inside a transaction opened by the app's lifespan and rolled back when it ends. Requests go
through httpx's ASGITransport, which runs the app in the calling task; the anyio pytest plugin
runs fixtures and the test in one task too, so the lifespan's transaction spans the whole test.
Writes inside it (including the app's own transactions, which become savepoints) vanish at the
end. tests/db/test_database.py proves it.

Shared helpers (constants, accounts, servers) are in tests/utils.py.
"""

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db import embedded, migrations
from service.db.database import Connection, Database
from service.db.urls import asyncpg_dsn
from tests.utils import (
    Account,
    ScratchDatabase,
    SignUp,
    create_database,
    drop_database,
    scratch_name,
    settings_for,
    sign_up_with,
)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL URL we may also use to create and drop scratch databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield asyncpg_dsn(url)
        return
    pgserver = embedded.import_pgserver()  # only needed without TEST_DATABASE_URL
    with tempfile.TemporaryDirectory(prefix="blog-api-test-") as data_dir:
        server = pgserver.get_server(Path(data_dir), cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """The server's database, migrated."""
    asyncio.run(migrations.migrate(server_url))
    return server_url


@pytest.fixture
async def scratch_database(server_url: str) -> AsyncIterator[ScratchDatabase]:
    """Make empty (or migrated) databases of their own, for tests that must really commit."""
    created: list[str] = []

    async def make(*, migrated: bool = True) -> str:
        name = scratch_name()
        created.append(name)
        return await create_database(server_url, name, migrated=migrated)

    yield make
    for name in created:
        await drop_database(server_url, name)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    database = Database(database_url, min_size=1, max_size=1, force_rollback=True)
    app = create_app(settings_for(database_url), database=database)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def lenient(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """Like `client`, but an exception escaping the app is the 500 a real server would send."""
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[Connection]:
    """The app's connection, inside the test's transaction."""
    async with app.state.databases.primary.connection() as connection:
        yield connection


@pytest.fixture
async def raw(db: Connection) -> asyncpg.Connection:
    """The app's asyncpg connection, inside the test's transaction."""
    return await db.raw()


@pytest.fixture
def sign_up(client: AsyncClient) -> SignUp:
    """Create a user through the API and log them in."""

    async def sign_up(name: str = "Ada", email: str | None = None) -> Account:
        return await sign_up_with(client, name, email)

    return sign_up
