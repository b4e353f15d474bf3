"""The pytest plugin: a real PostgreSQL, and an app whose every test runs in a transaction rolled
back at its end. Registered as `blog_api` in the `pytest11` entry-point group, so it loads in
every pytest run where the package is installed (`-p no:blog_api` turns it off).

Loading it costs nothing: it imports neither the service nor httpx until a fixture is asked
for, and starts no server before then.

The server is TEST_DATABASE_URL when set, otherwise an embedded one (the `embedded` extra)
started for the run and deleted after it; either way it is migrated once per session.

Isolation: the app under test gets a `Database(force_rollback=True)`, which holds one connection
inside a transaction opened by the app's lifespan and rolled back when it ends. Requests go
through httpx's ASGITransport, which runs the app in the calling task; the anyio pytest plugin
runs fixtures and the test in one task too, so the lifespan's transaction spans the whole test.
Writes inside it (including the app's own transactions, which become savepoints) vanish at the
end, and `db` and `raw` are that same connection.

Async tests need the anyio marker (`pytestmark = pytest.mark.anyio`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import asyncpg
    from fastapi import FastAPI
    from httpx import AsyncClient

    from service.db.database import Connection, Database
    from service.settings import Settings
    from service.testing.accounts import Account, SignUp
    from service.testing.app import AppFactory
    from service.testing.databases import ScratchDatabase

APP_OPTION = "blog_api_app"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        APP_OPTION,
        "The app factory the `app` fixture calls, as 'package.module:callable'; it takes "
        "(settings, *, database) like service.api.app:create_app, the default.",
        default="service.api.app:create_app",
    )


def _client(app: FastAPI, *, raise_app_exceptions: bool = True) -> AsyncClient:
    """An httpx client on `app`. Only the fixtures that send requests need httpx: without it
    they fail saying so, and every other fixture and test still runs."""
    try:
        import httpx
    except ModuleNotFoundError:
        pytest.fail(
            "this fixture sends requests with httpx, which is not installed: "
            "install the package's `testing` extra (blog-api[testing])",
            pytrace=False,
        )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL URL we may also use to create and drop scratch databases."""
    from service.db import embedded
    from service.db.urls import asyncpg_dsn

    if given := os.environ.get("TEST_DATABASE_URL"):
        yield asyncpg_dsn(given)
        return
    try:
        pgserver = embedded.import_pgserver()
    except ModuleNotFoundError:
        pytest.fail(
            "set TEST_DATABASE_URL, or install the `embedded` extra (blog-api[embedded]) "
            "for a PostgreSQL of the tests' own",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="blog-api-test-") as data_dir:
        server = pgserver.get_server(Path(data_dir), cleanup_mode="stop")
        try:
            url: str = server.get_uri()
            yield url
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """The server's database, migrated (once per session)."""
    import asyncio

    from service.db import migrations

    asyncio.run(migrations.migrate(server_url))
    return server_url


@pytest.fixture
async def scratch_database(server_url: str) -> AsyncIterator[ScratchDatabase]:
    """Make empty (or migrated) databases of their own, for tests that must really commit;
    dropped after the test."""
    from service.testing.databases import create_database, drop_database, scratch_name

    created: list[str] = []

    async def make(*, migrated: bool = True) -> str:
        name = scratch_name()
        created.append(name)
        return await create_database(server_url, name, migrated=migrated)

    yield make
    for name in created:
        await drop_database(server_url, name)


@pytest.fixture
def app_factory(pytestconfig: pytest.Config) -> AppFactory:
    """What makes the app under test: the `blog_api_app` ini option's callable. Override this
    fixture to build the app some other way."""
    from service.testing.app import load_app_factory

    return load_app_factory(str(pytestconfig.getini(APP_OPTION)))


@pytest.fixture
def app_settings(database_url: str) -> Settings:
    """The settings the app under test runs with (override it to change one)."""
    from service.testing.app import settings_for

    return settings_for(database_url)


@pytest.fixture
def app_database(database_url: str) -> Database:
    """The app's database: one connection, inside a transaction that the app's lifespan opens
    and rolls back when it ends."""
    from service.db.database import Database

    return Database(database_url, min_size=1, max_size=1, force_rollback=True)


@pytest.fixture
async def app(
    app_database: Database, app_settings: Settings, app_factory: AppFactory
) -> AsyncIterator[FastAPI]:
    """The app, started, on one connection inside the test's transaction."""
    app = app_factory(app_settings, database=app_database)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An httpx client that sends its requests to `app`, in the test's task."""
    async with _client(app) as client:
        yield client


@pytest.fixture
async def lenient(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """Like `client`, but an exception escaping the app is the 500 a real server would send."""
    async with _client(app, raise_app_exceptions=False) as client:
        yield client


@pytest.fixture
async def db(app: FastAPI, app_database: Database) -> AsyncIterator[Connection]:
    """The app's connection, inside the test's transaction (once the app has started): what a
    test writes here, the app sees, and both vanish at the end."""
    async with app_database.connection() as connection:
        yield connection


@pytest.fixture
async def raw(db: Connection) -> asyncpg.Connection:
    """The app's asyncpg connection, inside the test's transaction (for statements_run, plans
    and SQL of the test's own)."""
    return await db.raw()


@pytest.fixture
def sign_up(client: AsyncClient) -> SignUp:
    """Create a user through the API and log them in: `account = await sign_up("Ada")`."""
    from service.testing.accounts import sign_up_with

    async def sign_up(name: str = "Ada", email: str | None = None) -> Account:
        return await sign_up_with(client, name, email)

    return sign_up
