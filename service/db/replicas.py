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
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

import asyncpg

from service.db.database import UNAVAILABLE_ERRORS, Connection, Database
from service.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

State = Literal["ok", "lagging", "down"]

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
# Checks remembered per replica: enough for REPLICA_MAX_LAG at a check every few milliseconds.
_SAMPLES = 512


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
    # Recent checks, oldest first: when (monotonic) and the primary's WAL position then.
    samples: "deque[tuple[float, int]]" = field(
        default_factory=lambda: deque(maxlen=_SAMPLES), repr=False
    )

    @property
    def usable(self) -> bool:
        return self.state == "ok"

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

    async def _check(self, replica: Replica) -> None:
        try:
            if not replica.connected:
                await replica.database.connect()
                replica.connected = True
            async with replica.database.connection() as conn:
                row = await (await conn.raw()).fetchrow(_REPLICA_STATE)
            assert row is not None
            if not row["in_recovery"]:
                raise NotAReplica(
                    f"DATABASE_REPLICA_URLS: {replica.name} ({_where(replica.database.url)}) "
                    "accepts writes (pg_is_in_recovery() is false): it is not a replica"
                )
            async with self.primary.connection() as conn:
                primary = await (await conn.raw()).fetchrow(_PRIMARY_STATE)
            assert primary is not None
        except _CANNOT_SERVE as exc:
            if replica.state != "down":
                logger.warning("replica down", extra={"replica": replica.name, "error": str(exc)})
            replica.state, replica.lag = "down", None
            replica.samples.clear()
            return
        now = time.monotonic()
        position = wal_position(primary["lsn"])
        replica.lag = estimate_lag(
            samples=replica.samples,
            replayed=wal_position(row["replayed"]),
            primary=position,
            since=row["since"],
            now=now,
        )
        replica.samples.append((now, position))
        # What is older than the lag limit can only say the replica is past it.
        while len(replica.samples) > 1 and now - replica.samples[1][0] > replica.max_lag:
            replica.samples.popleft()
        was = replica.state
        replica.state = "ok" if replica.lag <= replica.max_lag else "lagging"
        if replica.state != was:
            logger.info("replica state", extra={"replica": replica.name, "state": replica.state})

    async def states(self) -> dict[str, str]:
        """Each database's state, for /health/ready."""
        found = {"primary": "ok" if await self.primary.ping() else "down"}
        for replica in self.replicas:
            found[replica.name] = replica.state
        return found


def _where(url: str) -> str:
    """A URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
