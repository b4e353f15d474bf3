"""Reads on streaming replicas, writes on the primary.

`Databases` holds the primary and any replicas (DATABASE_REPLICA_URLS). `reading()` hands out a
connection to a healthy replica, in turn, that falls back to the primary if the replica cannot
serve; `writing()` always the primary. A checker task asks every replica each
REPLICA_CHECK_SECONDS how far it is behind the primary: one that is unreachable, or more than
REPLICA_MAX_LAG seconds behind, gets no reads until it is back within the limit.

Lag, an upper bound, never an underestimate: zero when the replica has replayed all the WAL the
primary has written; otherwise, if it has replayed all the primary had written at the previous
check, at most the time since that check; otherwise the time since the last transaction it
replayed was committed. The last alone would count a quiet spell on the primary too (a
background WAL record after a quiet minute would make an idle replica look a minute behind); the
second keeps such a replica within one check interval.
"""

import asyncio
import contextlib
import itertools
import logging
import time
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
       pg_last_wal_replay_lsn() AS replayed,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS since
"""


# On the primary: its WAL position now, whether the replica's replay ($1) is behind it, and
# whether the replica has replayed what the primary had written at the previous check ($2).
_PRIMARY_STATE = """
SELECT pg_current_wal_lsn()::text AS lsn,
       pg_current_wal_lsn() > $1::pg_lsn AS behind,
       coalesce($1::pg_lsn >= $2::text::pg_lsn, false) AS replayed_previous
"""


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
    # The primary's WAL position at the previous check, and when that was (monotonic).
    primary_lsn: str | None = field(default=None, repr=False)
    checked_at: float = field(default=0.0, repr=False)

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
                primary = await (await conn.raw()).fetchrow(
                    _PRIMARY_STATE, row["replayed"], replica.primary_lsn
                )
            assert primary is not None
        except _CANNOT_SERVE as exc:
            if replica.state != "down":
                logger.warning("replica down", extra={"replica": replica.name, "error": str(exc)})
            replica.state, replica.lag, replica.primary_lsn = "down", None, None
            return
        now = time.monotonic()
        if not primary["behind"]:
            replica.lag = 0.0
        elif primary["replayed_previous"]:
            replica.lag = min(float(row["since"] or 0.0), now - replica.checked_at)
        else:
            replica.lag = float(row["since"] or 0.0)
        replica.primary_lsn, replica.checked_at = primary["lsn"], now
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
