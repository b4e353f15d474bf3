"""Reads on streaming replicas, writes on the primary.

`Databases` holds the primary and any replicas (DATABASE_REPLICA_URLS). `reading()` hands out a
connection to a healthy replica, in turn, that falls back to the primary if the replica cannot
serve; `writing()` always the primary. A checker task asks every replica each
REPLICA_CHECK_SECONDS how far it is behind the primary: one that is unreachable, or more than
REPLICA_MAX_LAG seconds behind, gets no reads until it is back within the limit.

Lag, an upper bound, never an underestimate: zero when the replica has replayed all the WAL the
primary has written; otherwise the smaller of two bounds: the time since the latest recent check
whose primary WAL position the replica has replayed (the primary was no further then), and the
time since the last transaction it replayed was committed. The last alone would count a quiet
spell on the primary too (a background WAL record after a quiet minute would make an idle
replica look a minute behind); the checks keep such a replica within a check interval or two,
even when it is a few milliseconds behind the latest check as well.

While the primary does not answer (it is lost and a failover is under way), a replica keeps
serving reads with its lag bounded by the time since the primary last answered, and a replica
that has been seen replaying and now accepts writes was promoted: it is `promoted`, still read
from (it is the freshest server there is) while its pool is renewed at each check, so a URL that
prefers standbys (`target_session_attrs=prefer-standby`) moves back to one when one is there.
A replica URL that leads to a primary from the start is an error in the settings.

The primary's pool reports each server it reaches; a new address is a failover, counted.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

import asyncpg

from service.db.database import UNAVAILABLE_ERRORS, Connection, Database
from service.errors import DatabaseUnavailable
from service.observability import metrics

logger = logging.getLogger(__name__)

State = Literal["ok", "lagging", "down", "promoted"]

_CANNOT_SERVE: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    *UNAVAILABLE_ERRORS,
    asyncpg.PostgresError,
)

_REPLICA_STATE = """
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_replay_lsn()::text AS replayed,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS since
"""


_PRIMARY_STATE = "SELECT pg_current_wal_lsn()::text AS lsn"
_PRIMARY_SERVER = """
SELECT host(inet_server_addr()) AS host, inet_server_port() AS port,
       NOT pg_is_in_recovery() AND NOT current_setting('transaction_read_only')::bool AS writable
"""
# Checks remembered per replica: enough for REPLICA_MAX_LAG at a check every few milliseconds.
_SAMPLES = 512


class ReadOrigin:
    """Set by whoever wants to know whether a unit of work read from a replica (the response
    cache: such a page may be older than the primary)."""

    __slots__ = ("replica",)

    def __init__(self) -> None:
        self.replica = False


read_origin: ContextVar[ReadOrigin | None] = ContextVar("read_origin", default=None)


def wal_position(lsn: str) -> int:
    """A pg_lsn's text (`16/B374D848`) as a byte position."""
    high, _, low = lsn.partition("/")
    return int(high, 16) << 32 | int(low, 16)


def estimate_lag(
    *,
    samples: "deque[tuple[float, int]]",
    replayed: int,
    primary: int,
    since: float | None,
    now: float,
) -> float:
    """An upper bound of a replica's lag in seconds. `samples` are earlier checks, oldest first:
    (when, the primary's WAL position then); `since`, the seconds since the commit of the last
    transaction the replica replayed (None if none since it started)."""
    if replayed >= primary:
        return 0.0
    bounds = [now - at for at, position in samples if position <= replayed][-1:]
    if since is not None:
        bounds.append(since)
    if bounds:
        return min(bounds)
    # Behind every check it is remembered for, and no transaction replayed yet.
    return now - samples[0][0] if samples else 0.0


class NotAReplica(Exception):
    """A replica URL that leads to a server accepting writes: most likely the primary."""


@dataclass
class Replica:
    name: str
    database: Database
    max_lag: float
    state: State = "down"
    lag: float | None = None
    connected: bool = field(default=False, repr=False)
    # Seen replaying WAL since the process started: if it accepts writes later, it was promoted.
    replayed: bool = field(default=False, repr=False)
    # Recent checks, oldest first: when (monotonic) and the primary's WAL position then.
    samples: "deque[tuple[float, int]]" = field(
        default_factory=lambda: deque(maxlen=_SAMPLES), repr=False
    )

    @property
    def usable(self) -> bool:
        return self.state in {"ok", "promoted"}

    def lost(self) -> None:
        """A request found it unable to serve: no more reads until the checker sees it back."""
        if self.state != "down":
            logger.warning("replica down", extra={"replica": self.name})
        self.state = "down"


class Databases:
    def __init__(
        self,
        primary: Database,
        replicas: list[Database] | None = None,
        *,
        max_lag: float = 5.0,
        check_seconds: float = 1.0,
    ) -> None:
        self.primary = primary
        self.replicas = [
            Replica(name=f"replica-{n}", database=database, max_lag=max_lag)
            for n, database in enumerate(replicas or (), start=1)
        ]
        for replica in self.replicas:
            replica.database.on_unavailable = replica.lost
        self._check_seconds = check_seconds
        self._turns = itertools.cycle(self.replicas)
        self._checker: asyncio.Task[None] | None = None
        # When the primary last answered a check (monotonic), and the servers it was reached on.
        self._primary_answered: float | None = None
        self._primary_server: str | None = None
        primary.on_connect = self._primary_reached

    def _primary_reached(self, server: str) -> None:
        if self._primary_server is not None and server != self._primary_server:
            metrics.failovers.inc()
            logger.warning(
                "primary moved", extra={"previous": self._primary_server, "server": server}
            )
        self._primary_server = server

    async def connect(self) -> None:
        await self.primary.connect()
        for replica in self.replicas:
            await self._check(replica)
        if self.replicas:
            self._checker = asyncio.create_task(self._keep_checking())

    async def disconnect(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        for replica in self.replicas:
            if replica.connected:
                await replica.database.disconnect()
        await self.primary.disconnect()

    def _next_usable(self) -> Replica | None:
        for _ in range(len(self.replicas)):
            replica = next(self._turns)
            if replica.usable:
                return replica
        return None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A connection for reads that may be a little behind the primary (anonymous reads)."""
        replica = self._next_usable() if self.replicas else None
        if replica is not None and (origin := read_origin.get()) is not None:
            origin.replica = True  # even if it falls back to the primary: it may read there
        if replica is None:
            async with self.primary.connection() as connection:
                yield connection
        else:
            async with replica.database.connection(fallback=self.primary) as connection:
                yield connection

    def writing(self) -> "contextlib.AbstractAsyncContextManager[Connection]":
        """A connection to the primary: writes, and reads that must see them."""
        return self.primary.connection()

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self._check_seconds)
            await self.check_replicas()

    async def check_replicas(self) -> None:
        """Ask every replica how far behind it is, now."""
        for replica in self.replicas:
            try:
                await self._check(replica)
            except NotAReplica:
                logger.error("replica accepts writes", extra={"replica": replica.name})
                replica.state = "down"
                await replica.database._expire_connections()

    async def _check(self, replica: Replica) -> None:
        try:
            if not replica.connected:
                await replica.database.connect()
                replica.connected = True
            async with replica.database.connection() as conn:
                row = await (await conn.raw()).fetchrow(_REPLICA_STATE)
            assert row is not None
            if not row["in_recovery"]:
                if replica.replayed:
                    await self._promoted(replica)
                    return
                raise NotAReplica(
                    f"DATABASE_REPLICA_URLS: {replica.name} ({_where(replica.database.url)}) "
                    "accepts writes (pg_is_in_recovery() is false): it is not a replica"
                )
            replica.replayed = True
            primary = await self._primary_position()
            if primary is None:
                primary = self._primary_unknown(replica)
            if primary is None:
                raise DatabaseUnavailable("the primary has not answered yet")
        except _CANNOT_SERVE as exc:
            if replica.state != "down":
                logger.warning("replica down", extra={"replica": replica.name, "error": str(exc)})
            replica.state, replica.lag = "down", None
            replica.samples.clear()
            return
        now = time.monotonic()
        position, answered = primary
        replica.lag = estimate_lag(
            samples=replica.samples,
            replayed=wal_position(row["replayed"]),
            primary=position,
            since=row["since"],
            now=now,
        )
        if answered:
            replica.samples.append((now, position))
        elif self._primary_answered is not None:
            # The primary may have written more since it last answered, and never will again
            # if it is lost: the replica is at most that long behind it.
            replica.lag = max(replica.lag, now - self._primary_answered)
        # What is older than the lag limit can only say the replica is past it.
        while len(replica.samples) > 1 and now - replica.samples[1][0] > replica.max_lag:
            replica.samples.popleft()
        was = replica.state
        replica.state = "ok" if replica.lag <= replica.max_lag else "lagging"
        if replica.state != was:
            logger.info("replica state", extra={"replica": replica.name, "state": replica.state})

    async def _primary_position(self) -> tuple[int, bool] | None:
        """The primary's WAL position now, or None when it does not answer."""
        try:
            async with self.primary.connection() as conn:
                row = await (await conn.raw()).fetchrow(_PRIMARY_STATE)
        except _CANNOT_SERVE:
            return None
        assert row is not None
        self._primary_answered = time.monotonic()
        return wal_position(row["lsn"]), True

    def _primary_unknown(self, replica: Replica) -> tuple[int, bool] | None:
        """The primary's last known position, while it does not answer (None if never seen)."""
        if not replica.samples or self._primary_answered is None:
            return None
        return replica.samples[-1][1], False

    async def _promoted(self, replica: Replica) -> None:
        if replica.state != "promoted":
            logger.warning("replica promoted", extra={"replica": replica.name})
        replica.state, replica.lag = "promoted", 0.0
        replica.samples.clear()
        # New connections choose again: a standby, when the URL prefers one and one is back.
        await replica.database._expire_connections()

    async def primary_server(self) -> tuple[str | None, bool]:
        """The primary's `host:port` and whether it takes writes, asked now (None, False when
        it does not answer)."""
        try:
            async with self.primary.connection() as conn:
                row = await (await conn.raw()).fetchrow(_PRIMARY_SERVER)
        except _CANNOT_SERVE:
            return None, False
        assert row is not None
        server = "local" if row["host"] is None else f"{row['host']}:{row['port']}"
        return server, bool(row["writable"])

    async def states(self) -> tuple[dict[str, str], str | None, bool]:
        """For /health/ready: each database's state; the primary's `host:port` (None when it does
        not answer) and whether it takes writes."""
        server, writable = await self.primary_server()
        found = {"primary": "down" if server is None else "ok" if writable else "read_only"}
        for replica in self.replicas:
            found[replica.name] = replica.state
        return found, server, writable


def _where(url: str) -> str:
    """A URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
