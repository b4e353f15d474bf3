"""The one module that uses `databases`.

`databases` 0.9 is no longer developed, so everything it does for us goes through here:

- it keys connections by asyncio task; we never rely on that and pass a `Connection` explicitly
  for one unit of work (a request), acquired once on first use, so a request costs at most one
  pool acquire;
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
    """A pooled connection for one unit of work, acquired on first use and held until its end.

    Acquiring lazily means work done before the first query (hashing a password, say) does not
    keep a connection from other requests.
    """

    def __init__(self, connection: databases.core.Connection, acquire_timeout: float) -> None:
        self._connection = connection
        self._acquire_timeout = acquire_timeout
        self.acquired = False

    async def _acquire(self) -> None:
        if self.acquired:
            return
        try:
            async with asyncio.timeout(self._acquire_timeout):
                await self._connection.__aenter__()
        except TimeoutError:
            raise DatabaseUnavailable("no database connection is free; try again") from None
        except CONNECTION_ERRORS as exc:
            raise DatabaseUnavailable("the database is unavailable; try again") from exc
        self.acquired = True

    async def _release(self) -> None:
        if self.acquired:
            self.acquired = False
            await self._connection.__aexit__()

    async def raw(self) -> asyncpg.Connection:
        """The asyncpg connection underneath, for what `databases` cannot do."""
        await self._acquire()
        return self._connection.raw_connection

    # Core statements, compiled by `databases` on every call.

    async def fetch_one(self, statement: ClauseElement) -> Row | None:
        await self._acquire()
        record = await self._connection.fetch_one(statement)
        return None if record is None else record._mapping

    async def fetch_all(self, statement: ClauseElement) -> list[Row]:
        await self._acquire()
        return [record._mapping for record in await self._connection.fetch_all(statement)]

    async def execute(self, statement: ClauseElement) -> Any:
        await self._acquire()
        return await self._connection.execute(statement)

    # Named SQL from sql/queries/, on the asyncpg connection and its statement cache. The query
    # lock is the one `databases` takes for its own calls, so the two never interleave.

    async def fetch_row(self, query: Query, **values: Any) -> Row | None:
        await self._acquire()
        async with self._connection._query_lock:
            return await self._connection.raw_connection.fetchrow(query.sql, *query.args(values))

    async def fetch_rows(self, query: Query, **values: Any) -> list[Row]:
        await self._acquire()
        async with self._connection._query_lock:
            return await self._connection.raw_connection.fetch(query.sql, *query.args(values))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """A transaction, or a savepoint inside one already open."""
        await self._acquire()
        async with self._connection.transaction():
            yield


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
        """A connection for the block, acquired on first use and released at its end.

        Errors that mean the database cannot serve us become `DatabaseUnavailable`.
        """
        connection = Connection(self._database.connection(), self.acquire_timeout)
        try:
            yield connection
        except CONNECTION_ERRORS as exc:
            raise DatabaseUnavailable("the database connection was lost; try again") from exc
        finally:
            await connection._release()

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                raw = await conn.raw()
                await raw.fetchval("SELECT 1")
        except (DatabaseUnavailable, *CONNECTION_ERRORS, TimeoutError):
            return False
        return True
