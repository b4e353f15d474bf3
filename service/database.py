"""The one module that uses `databases`.

`databases` 0.9 is no longer developed, so everything it does for us goes through here:

- it keys connections by asyncio task; we never rely on that and pass a `Connection` explicitly,
  held for one unit of work (a request), so a request costs one pool acquire;
- it compiles Core statements on every call with no cache, so hot reads run named SQL from
  `sql/queries/` on the asyncpg connection underneath, whose statement cache prepares each
  statement once per connection;
- `Record._mapping` is the raw asyncpg record (no SQLAlchemy result processing); our column types
  need none, and tests/test_database.py checks the types we get back;
- it has no pool-acquire timeout, so we add one;
- `iterate()` holds its connection until the iterator is exhausted, so we do not offer it.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import databases
import databases.core
from sqlalchemy.sql import ClauseElement

from service.dsn import asyncpg_dsn
from service.errors import DatabaseUnavailable
from service.queries import Query

Row = Mapping[str, Any]

# Errors that mean "the database cannot serve us right now", as opposed to a bad statement.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


class Connection:
    """A pooled connection held for one unit of work."""

    def __init__(self, connection: databases.core.Connection) -> None:
        self._connection = connection

    @property
    def raw(self) -> asyncpg.Connection:
        return self._connection.raw_connection

    # Core statements, compiled by `databases` on every call.

    async def fetch_one(self, statement: ClauseElement) -> Row | None:
        record = await self._connection.fetch_one(statement)
        return None if record is None else record._mapping

    async def fetch_all(self, statement: ClauseElement) -> list[Row]:
        return [record._mapping for record in await self._connection.fetch_all(statement)]

    async def execute(self, statement: ClauseElement) -> Any:
        return await self._connection.execute(statement)

    # Named SQL from sql/queries/, on the asyncpg connection and its statement cache. The query
    # lock is the one `databases` takes for its own calls, so the two never interleave.

    async def fetch_row(self, query: Query, **values: Any) -> Row | None:
        async with self._connection._query_lock:
            return await self.raw.fetchrow(query.sql, *query.args(values))

    async def fetch_rows(self, query: Query, **values: Any) -> list[Row]:
        async with self._connection._query_lock:
            return await self.raw.fetch(query.sql, *query.args(values))

    def transaction(self) -> databases.core.Transaction:
        """A transaction, or a savepoint inside one already open."""
        return self._connection.transaction()


class Database:
    """The application's connection pool."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        acquire_timeout: float = 5.0,
        statement_timeout_ms: int = 5_000,
        command_timeout: float = 10.0,
        force_rollback: bool = False,
    ) -> None:
        self.url = url
        self.acquire_timeout = acquire_timeout
        self._database = databases.Database(
            asyncpg_dsn(url),
            force_rollback=force_rollback,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            server_settings={
                "application_name": "blog-api",
                "statement_timeout": str(statement_timeout_ms),
            },
        )

    @property
    def is_connected(self) -> bool:
        return self._database.is_connected

    async def connect(self) -> None:
        await self._database.connect()

    async def disconnect(self) -> None:
        await self._database.disconnect()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Hold one pooled connection for the block.

        Errors that mean the database cannot serve us become `DatabaseUnavailable`.
        """
        connection = self._database.connection()
        try:
            async with asyncio.timeout(self.acquire_timeout):
                await connection.__aenter__()
        except TimeoutError:
            raise DatabaseUnavailable("no database connection is free; try again") from None
        except CONNECTION_ERRORS as exc:
            raise DatabaseUnavailable("the database is unavailable; try again") from exc
        try:
            yield Connection(connection)
        except CONNECTION_ERRORS as exc:
            raise DatabaseUnavailable("the database connection was lost; try again") from exc
        finally:
            await connection.__aexit__()

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                await conn.raw.fetchval("SELECT 1")
        except (DatabaseUnavailable, *CONNECTION_ERRORS, TimeoutError):
            return False
        return True
