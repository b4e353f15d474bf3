"""Fixtures: a real PostgreSQL, and an app whose every test runs in a transaction rolled back.

The server is TEST_DATABASE_URL when set, otherwise an embedded one started for the run.

Isolation: the app under test gets a `Database(force_rollback=True)`, which holds one connection
inside a transaction opened by the app's lifespan and rolled back when it ends. Requests go
through httpx's ASGITransport, which runs the app in the calling task; the anyio pytest plugin
runs fixtures and the test in one task too, so the lifespan's transaction spans the whole test.
Writes inside it (including the app's own transactions, which become savepoints) vanish at the
end. tests/test_database.py proves it.
"""

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db import migrations
from service.db.database import Connection, Database
from service.db.urls import asyncpg_dsn
from service.settings import Settings

TOKEN_SECRET = "test-secret-" + "x" * 32
PASSWORD = "correct horse battery"


def with_database(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL URL we may also use to create and drop scratch databases."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield asyncpg_dsn(url)
        return
    import pgserver  # only needed without TEST_DATABASE_URL

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


ScratchDatabase = Callable[..., Awaitable[str]]


@pytest.fixture
async def scratch_database(server_url: str) -> AsyncIterator[ScratchDatabase]:
    """Make empty (or migrated) databases of their own, for tests that must really commit."""
    created: list[str] = []

    async def make(*, migrated: bool = True) -> str:
        name = f"blog_scratch_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        created.append(name)
        url = with_database(server_url, name)
        if migrated:
            await migrations.migrate(url)
        return url

    yield make
    admin = await asyncpg.connect(server_url)
    try:
        for name in created:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def settings_for(database_url: str) -> Settings:
    return Settings(database_url=database_url, token_secret=TOKEN_SECRET, _env_file=None)


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
async def db(app: FastAPI) -> AsyncIterator[Connection]:
    """The app's connection, inside the test's transaction."""
    async with app.state.database.connection() as connection:
        yield connection


async def walk_pages(client: AsyncClient, path: str, **params: Any) -> tuple[list[dict], int]:
    """Every item of a keyset listing, page by page, and the number of pages."""
    items: list[dict] = []
    pages = 0
    cursor = None
    while True:
        response = await client.get(path, params=params | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        page = response.json()
        if "limit" in params:
            assert len(page["items"]) <= int(params["limit"])
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


@dataclass
class Account:
    id: int
    name: str
    email: str
    headers: dict[str, str]


SignUp = Callable[..., Awaitable[Account]]


@pytest.fixture
def sign_up(client: AsyncClient) -> SignUp:
    """Create a user through the API and log them in."""

    async def sign_up(name: str = "Ada", email: str | None = None) -> Account:
        email = email or f"{uuid.uuid4().hex[:10]}@example.com"
        created = await client.post(
            "/users", json={"name": name, "email": email, "password": PASSWORD}
        )
        assert created.status_code == 201, created.text
        token = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        return Account(
            id=created.json()["id"],
            name=name,
            email=email,
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )

    return sign_up
