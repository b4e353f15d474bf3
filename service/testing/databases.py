"""Databases for tests: connections of a test's own (outside the service's pool), scratch
databases that really commit, seeded ones for plan tests, and blocks rolled back at their end."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from service.db import migrations
from service.db.urls import asyncpg_dsn

ScratchDatabase = Callable[..., Awaitable[str]]
"""The `scratch_database` fixture: `await scratch_database(migrated=True)` is a new database's
URL, dropped after the test."""


def with_database(url: str, name: str) -> str:
    """`url` with its database name replaced."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection of the test's own, outside the service's pool."""
    conn: asyncpg.Connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        yield conn
    finally:
        await conn.close()


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with connect(url) as conn:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows


async def fetchval(url: str, sql: str, *args: Any) -> Any:
    async with connect(url) as conn:
        return await conn.fetchval(sql, *args)


def scratch_name(prefix: str = "blog_scratch") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


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
