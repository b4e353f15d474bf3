"""The one module that uses `databases`.

`databases` 0.9 is no longer developed, so everything it does for us goes through here:

- it keys connections by asyncio task; we never rely on that and pass a `Connection` explicitly
  for one unit of work (a request), acquired once on first use, so a request costs at most one
  pool acquire;
- it compiles Core statements on every call with no cache, so hot reads run named SQL from
  `sql/queries/` on the asyncpg connection underneath, whose statement cache prepares each
  statement once per connection;
- `Record._mapping` is the raw asyncpg record (no SQLAlchemy result processing); our column types
  need none, and tests/db/test_database.py checks the types we get back;
- it has no pool-acquire timeout, so we add one;
- `iterate()` holds its connection until the iterator is exhausted, so we do not offer it.

Errors that mean "the database cannot serve us now" (no free connection, a lost connection, a
statement or command timeout) become `DatabaseUnavailable` right where a call to the database
raised them, so an unrelated `OSError` or `TimeoutError` elsewhere is never taken for one.

Behind a transaction pooler (PgBouncer, `pooler=True`) a server connection is ours only for one
transaction: no named prepared statements (asyncpg's statement cache is off), no session
settings (startup parameters are not passed on), so every statement runs in a transaction of its
own that first sets them with SET LOCAL. That costs two round trips per statement more.

A connection to a replica (`fallback=`) moves to the primary, once, when the replica cannot
serve, and reports it (`on_unavailable`), so a replica going away fails no request.

The URL goes to asyncpg as it is (`dsn=`): `databases` would parse it itself and cannot take a
URL naming several hosts, the shape a high-availability cluster is reached by (service/db/urls.py).
When the primary is lost, a statement on one of its connections fails; the pool then renews every
connection, and new ones find whichever server accepts writes now. A write that meets a server
that has become read-only (a primary demoted and back as a standby) is the same loss, never a
statement error. Each new connection reports the server it reached (`on_connect`), which is how
a failover is seen: the primary's address changed.
"""

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import Any, cast

import asyncpg
import databases
import databases.core
from opentelemetry.trace import Tracer
from prometheus_client import Histogram
from sqlalchemy.sql import ClauseElement

from service.db import integrity
from service.db.queries import Query
from service.db.search import session_settings
from service.db.urls import asyncpg_dsn
from service.errors import DatabaseUnavailable
from service.observability import metrics, tracing

logger = logging.getLogger(__name__)
# `databases` logs every statement with its arguments at DEBUG: emails, password hashes. Never.
logging.getLogger("databases").setLevel(logging.WARNING)

_USED = metrics.connections.labels("used")
_IDLE = metrics.connections.labels("idle")
_WAITING = metrics.connection_waiting
_WAIT_TIME = metrics.connection_wait

Row = asyncpg.Record


@functools.cache
def _statement_timer(name: str) -> Histogram:
    """The duration histogram of one named statement (there are a few dozen)."""
    return metrics.statement_duration.labels(name)


# A connection that is gone: closed by the server (restart, pg_terminate_backend) or the network.
# When asyncpg notices the loss first, its pool detaches the connection and any call raises
# InterfaceError ("released back to the pool") or InternalClientError.
BROKEN_CONNECTION: tuple[type[BaseException], ...] = (
    ConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)

# Errors that mean "the database cannot serve us right now", as opposed to a bad statement.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *BROKEN_CONNECTION,
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)

# ... and, once connected: statement_timeout on the server, command_timeout on the client.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.exceptions.QueryCanceledError,
    TimeoutError,
    # A write on a server that no longer takes them: the primary has been demoted.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    # PostgreSQL cancelled this transaction to end a lock cycle with another one.
    asyncpg.exceptions.DeadlockDetectedError,
)


# The server a connection reached, as `host:port` (null over a Unix socket).
_SERVER = "SELECT host(inet_server_addr()), inet_server_port()"

# For the statement's transaction only: the plan is made for these values, never a generic one.
_CUSTOM_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release a connection to the pool without asyncpg's default reset query.

    That query (CLOSE ALL, UNLISTEN *, RESET ALL, advisory unlocks) costs a round trip on every
    release, for state we never create on pooled connections: no LISTEN, no session SET, no
    advisory locks, no cursors outside transactions. The pool still rolls back a transaction
    left open (a cancelled request) before it calls this.
    """


class _PooledConnection(asyncpg.Connection):
    """An asyncpg connection whose close() never raises for a server that is already gone.

    The pool closes connections on release (expired ones) and at shutdown. When the server side
    is gone and asyncpg has not read that yet, close() fails to send its Terminate message
    (BrokenPipeError, ConnectionResetError) or to hear back in time; asyncpg has aborted the
    transport by then, so nothing is left to clean up, and the error is no request's concern.
    """

    async def close(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 - asyncpg's signature
        try:
            await super().close(timeout=timeout)
        except OSError as exc:  # ConnectionError and TimeoutError are OSErrors
            logger.debug("closed a connection whose server was gone: %r", exc)


class Connection:
    """A pooled connection for one unit of work, acquired on first use and held until its end.

    Acquiring lazily means work done before the first query (hashing a password, say) does not
    keep a connection from other requests.
    """

    def __init__(self, database: "Database", *, fallback: "Database | None" = None) -> None:
        self._database = database
        self._connection: databases.core.Connection = database._pool.connection()
        self._fallback = fallback
        self.acquired = False

    async def _acquire(self) -> None:
        if self.acquired:
            return
        started = time.perf_counter()
        _WAITING.inc()
        try:
            async with asyncio.timeout(self._database.acquire_timeout):
                await self._connection.__aenter__()
        except TimeoutError:
            metrics.connection_timeouts.inc()
            raise DatabaseUnavailable(
                "no database connection is free; try again", reason="pool_exhausted"
            ) from None
        except CONNECTION_ERRORS as exc:
            # A server this pool reached before and cannot reach now is lost, as much as one
            # that broke a statement: the pool replaces a connection it saw close when it is
            # checked out, so no statement may have failed first.
            if self._database.server is not None:
                self._database.lost()
            raise DatabaseUnavailable(
                "the database is unavailable; try again",
                during_failover=self._database.lost_since is not None,
            ) from exc
        finally:
            _WAITING.dec()
        _WAIT_TIME.observe(time.perf_counter() - started)
        _USED.inc()
        _IDLE.set(self._database._idle_size())
        self.acquired = True

    async def _release(self) -> None:
        if self.acquired:
            self.acquired = False
            _USED.dec()
            await self._connection.__aexit__()
            _IDLE.set(self._database._idle_size())

    async def release(self) -> None:
        """Give the connection back to the pool now, before slow work that needs none (hashing
        a password); the next statement acquires one again."""
        await self._release()

    async def raw(self) -> asyncpg.Connection:
        """The asyncpg connection underneath, for what `databases` cannot do. Errors raised
        through it are the caller's to handle."""
        await self._acquire()
        raw: asyncpg.Connection = self._connection.raw_connection
        return raw

    async def fetch_one(self, statement: ClauseElement) -> Row | None:
        """Run a Core statement, compiled by `databases` on every call."""
        try:
            return await self._fetch_one(statement)
        except DatabaseUnavailable as unavailable:
            await self._fall_back(unavailable)
            return await self._fetch_one(statement)

    async def _fetch_one(self, statement: ClauseElement) -> Row | None:
        await self._acquire()
        try:
            setup = self._database.per_transaction
            for attempt in range(integrity.RETRIES + 1):
                try:
                    if setup is None:
                        record = await self._connection.fetch_one(statement)
                    else:
                        raw = self._connection.raw_connection
                        async with raw.transaction():
                            await raw.execute(setup)
                            record = await self._connection.fetch_one(statement)
                    break
                except integrity.CONFLICTS:
                    if attempt == integrity.RETRIES or self._connection._transaction_stack:
                        raise integrity.lost_conflict() from None
                    await integrity.pause_before_retry(attempt)
        except UNAVAILABLE_ERRORS as exc:
            raise await self._unavailable(exc) from exc
        except asyncpg.exceptions.ForeignKeyViolationError as exc:
            raise integrity.vanished(exc) from None
        # databases' asyncpg backend hands back the asyncpg record itself as `_mapping`.
        return None if record is None else cast(Row, record._mapping)

    # Named SQL from sql/queries/, on the asyncpg connection and its statement cache. The query
    # lock is the one `databases` takes for its own calls, so the two never interleave.

    async def fetch_row(self, query: Query, /, **values: Any) -> Row | None:
        rows = await self._named(query, values, limit=1)
        return rows[0] if rows else None

    async def fetch_rows(self, query: Query, /, **values: Any) -> list[Row]:
        return await self._named(query, values)

    async def _named(self, query: Query, values: dict[str, Any], limit: int = 0) -> list[Row]:
        args = query.args(values)
        try:
            return await self._measured(query, args, limit)
        except DatabaseUnavailable as unavailable:
            await self._fall_back(unavailable)
            return await self._measured(query, args, limit)

    async def _measured(self, query: Query, args: list[Any], limit: int) -> list[Row]:
        await self._acquire()
        started = time.perf_counter()
        try:
            tracer = self._database.tracer
            with nullcontext() if tracer is None else tracing.statement_span(tracer, query.name):
                try:
                    return await self._run_retrying(query, args, limit)
                except BROKEN_CONNECTION:
                    # A read outside a transaction is safe to repeat: once, on a fresh one.
                    if not query.read_only or self._connection._transaction_stack:
                        raise
                    await self._replace()
                    return await self._run_retrying(query, args, limit)
        except UNAVAILABLE_ERRORS as exc:
            unavailable = await self._unavailable(exc)
            metrics.statement_errors.labels(query.name, unavailable.reason).inc()
            raise unavailable from exc
        except asyncpg.exceptions.ForeignKeyViolationError as exc:
            raise integrity.vanished(exc) from None
        finally:
            elapsed = time.perf_counter() - started
            _statement_timer(query.name).observe(elapsed)
            if elapsed >= self._database.slow_statement_seconds:
                logger.warning(
                    "slow statement",
                    extra={"statement": query.name, "duration_ms": round(elapsed * 1000, 1)},
                )

    async def _run_retrying(self, query: Query, args: list[Any], limit: int) -> list[Row]:
        """`_run`, again when PostgreSQL cancelled the statement for a deadlock or a
        serialization failure: on its own, it changed nothing (service.db.integrity)."""
        for attempt in range(integrity.RETRIES + 1):
            try:
                return await self._run(query, args, limit)
            except integrity.CONFLICTS:
                if attempt == integrity.RETRIES or self._connection._transaction_stack:
                    metrics.statement_errors.labels(query.name, "conflict").inc()
                    raise integrity.lost_conflict() from None
                await integrity.pause_before_retry(attempt)
        raise AssertionError("unreachable")

    async def _run(self, query: Query, args: list[Any], limit: int) -> list[Row]:
        async with self._connection._query_lock:
            raw: asyncpg.Connection = self._connection.raw_connection
            setup = self._database.per_transaction
            if query.custom_plan:
                setup = _CUSTOM_PLAN if setup is None else f"{setup}; {_CUSTOM_PLAN}"
            if setup is not None:
                async with raw.transaction():
                    await raw.execute(setup)
                    rows: list[Row] = await raw.fetch(query.sql, *args)
                return rows[:limit] if limit else rows
            if limit == 1:
                row = await raw.fetchrow(query.sql, *args)
                return [] if row is None else [row]
            rows = await raw.fetch(query.sql, *args)
            return rows

    async def _replace(self) -> None:
        """Swap a broken connection for a new one, and have the pool renew all the others."""
        await self._release()
        await self._database._expire_connections()
        await self._acquire()

    async def _fall_back(self, unavailable: DatabaseUnavailable) -> None:
        """On a replica that cannot serve, move to the primary (or give up: no fallback, or a
        statement too slow for any server)."""
        if self._fallback is None or unavailable.reason == "statement_timeout":
            raise unavailable
        if self._database.on_unavailable is not None:
            self._database.on_unavailable()
        await self._release()
        self._database, self._fallback = self._fallback, None
        self._connection = self._database._pool.connection()

    async def _unavailable(self, exc: BaseException) -> DatabaseUnavailable:
        if isinstance(exc, asyncpg.exceptions.ReadOnlySQLTransactionError):
            self._database.lost()
            await self._database._expire_connections()
            return DatabaseUnavailable(
                "the database is switching servers; try again",
                reason="read_only",
                during_failover=True,
            )
        if isinstance(exc, asyncpg.exceptions.DeadlockDetectedError):
            # The transaction was rolled back whole and the connection is sound: nothing to
            # renew, and the same request sent again goes through.
            return DatabaseUnavailable(
                "the database cancelled a conflicting change; try again", reason="deadlock"
            )
        if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
            return DatabaseUnavailable(
                "the database is busy; try again", reason="statement_timeout"
            )
        if isinstance(exc, TimeoutError):
            # The client-side command timeout; asyncpg has cancelled the statement.
            return DatabaseUnavailable(
                "the database did not answer in time; try again", reason="statement_timeout"
            )
        self._database.lost()
        await self._database._expire_connections()
        return DatabaseUnavailable(
            "the database connection was lost; try again",
            reason="connection_lost",
            during_failover=True,
        )


class PoolerRefused(Exception):
    """The server refused our session settings at connection start: a pooler is in between."""


class Database:
    """A connection pool: the application's primary, or one replica."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        acquire_timeout: float = 5.0,
        statement_timeout_ms: int = 5_000,
        command_timeout: float = 10.0,
        search_config: str | None = None,
        slow_statement_ms: int = 500,
        pooler: bool = False,
        force_rollback: bool = False,
    ) -> None:
        self.url = url
        self.acquire_timeout = acquire_timeout
        self.max_size = max_size
        self.slow_statement_seconds = slow_statement_ms / 1000
        self.tracer: Tracer | None = None
        """Set by the app when tracing is on: a span for each named statement."""
        self.on_unavailable: Callable[[], None] | None = None
        """Called when a request finds this database unable to serve (replicas use it)."""
        self.on_connect: Callable[[str], None] | None = None
        """Called with the server's `host:port` for each new connection (failovers are seen so)."""
        self.server: str | None = None
        """The server the newest connection reached."""
        self.lost_since: float | None = None
        """When a connection was last lost (monotonic), until a new one is made."""
        session = {
            "statement_timeout": str(statement_timeout_ms),
            # Short statements only: compiling one to machine code costs more than it saves.
            "jit": "off",
            **session_settings(search_config),
        }
        self.per_transaction = (
            "; ".join(f"SET LOCAL {name} = '{value}'" for name, value in session.items())
            if pooler
            else None
        )
        """SET LOCAL statements every statement's transaction starts with, behind a pooler."""
        self._pool = databases.Database(
            # Only the scheme is read from here (to pick the backend); asyncpg gets the URL.
            "postgresql://",
            dsn=asyncpg_dsn(url),
            host=None,
            port=None,
            user=None,
            password=None,
            database=None,
            init=self._connected,
            force_rollback=force_rollback,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            reset=_keep_session,
            connection_class=_PooledConnection,
            # Behind a transaction pooler, prepared statements live only for a transaction:
            # asyncpg then prepares unnamed ones, in the statement's own transaction.
            statement_cache_size=0 if pooler else 100,
            server_settings={"application_name": "blog-api"} | ({} if pooler else session),
        )

    def lost(self) -> None:
        """A connection to this database was lost, or found it no longer takes writes."""
        if self.lost_since is None:
            self.lost_since = time.monotonic()

    async def _connected(self, connection: asyncpg.Connection) -> None:
        """Each new pooled connection: note the server it reached (the pool calls this)."""
        row = await connection.fetchrow(_SERVER)
        server = "local" if row is None or row[0] is None else f"{row[0]}:{row[1]}"
        self.server, self.lost_since = server, None
        if self.on_connect is not None:
            self.on_connect(server)

    async def connect(self) -> None:
        try:
            await self._pool.connect()
        except asyncpg.exceptions.ProtocolViolationError as exc:
            if "startup parameter" not in str(exc):
                raise
            # PgBouncer's answer to session settings sent at connection start.
            raise PoolerRefused(
                f"{exc}: a connection pooler sits in front of this server; "
                "set DB_POOLER=pgbouncer (and DATABASE_DIRECT_URL for migrations)"
            ) from exc
        metrics.connections_max.inc(self.max_size)
        _IDLE.set(self._idle_size())

    async def disconnect(self) -> None:
        await self._pool.disconnect()
        metrics.connections_max.dec(self.max_size)
        _IDLE.set(0)

    def _idle_size(self) -> int:
        pool = self._pool._backend._pool
        return 0 if pool is None else int(pool.get_idle_size())

    @asynccontextmanager
    async def connection(self, *, fallback: "Database | None" = None) -> AsyncIterator[Connection]:
        """A connection for the block, acquired on first use and released at its end; with
        `fallback`, moved there if this database cannot serve."""
        connection = Connection(self, fallback=fallback)
        try:
            yield connection
        finally:
            await connection._release()

    async def _expire_connections(self) -> None:
        """After one broken connection, the idle ones are likely broken too: renew them on use."""
        pool = self._pool._backend._pool
        if pool is not None:
            await pool.expire_connections()

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                raw = await conn.raw()
                await raw.fetchval("SELECT 1")
        except DatabaseUnavailable:
            return False
        except UNAVAILABLE_ERRORS:
            return False
        return True
