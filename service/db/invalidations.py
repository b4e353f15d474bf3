"""One connection per worker that LISTENs for the `read_cache` notifications, and announces what
writers queued for them (sql/migrations/0023_read_cache_changes.sql).

Writers do not NOTIFY: PostgreSQL makes every notifying commit wait for the one before it. Their
transactions queue the keys they changed in `read_cache_changes`, and every listener calls
`read_cache_announce()` each `announce_seconds`: it sends the committed keys on `read_cache` to
every listener and deletes them, in one transaction. That call is also the check that the
connection still answers.

The same loop folds the tag counts' slot rows about once a second
(`tag_counts_fold()`, sql/migrations/0024_tag_count_slots.sql): it is each worker's one
connection that does periodic work on the primary, and it runs whether or not the worker caches.

It is a connection of its own, outside the pool, to the primary server itself: replicas deliver
no notifications, and a transaction pooler (PgBouncer) cannot hold a LISTEN, so behind one it is
DATABASE_DIRECT_URL. It is opened through `connect_to_primary`, so with a URL naming several
hosts each new connection finds the server that takes writes now, after a failover too.

`on_up` is called once the LISTEN is in place, `on_down` whenever the connection is lost (killed,
the server restarting, the network), cannot be made, or fails to announce; it is then made again,
with a growing pause.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from service.db.database import UNAVAILABLE_ERRORS
from service.db.urls import connect_to_primary
from service.observability import metrics

logger = logging.getLogger(__name__)

CHANNEL = "read_cache"
APPLICATION_NAME = "blog-api-listener"

_LOST: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)
_ANNOUNCE = "SELECT read_cache_announce()"
_FOLD = "SELECT tag_counts_fold($1)"
_FOLD_BATCH = 100
_FOLD_SECONDS = 1.0
_FIRST_PAUSE = 0.05
_LONGEST_PAUSE = 2.0


def _ignore(*_args: object) -> None:
    """A listener without a cache to keep only announces: it has nothing to drop."""


class InvalidationListener:
    def __init__(
        self,
        url: str,
        *,
        on_invalidate: Callable[[list[str]], None] = _ignore,
        on_up: Callable[[], None] = _ignore,
        on_down: Callable[[], None] = _ignore,
        announce_seconds: float = 0.01,
        answer_timeout: float = 1.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._on_invalidate = on_invalidate
        self._on_up = on_up
        self._on_down = on_down
        self._announce_seconds = announce_seconds
        self._answer_timeout = answer_timeout
        self._connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None
        self.backend_pid: int | None = None
        """The server process of the current connection (tests and benchmarks end it)."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._keep_listening(), name="read-cache-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        metrics.read_cache_invalidations.inc()
        self._on_invalidate(str(payload).split())

    async def _keep_listening(self) -> None:
        pause = _FIRST_PAUSE
        while True:
            try:
                await self._listen()
                pause = _FIRST_PAUSE  # it listened, then was lost: try again at once
            except _LOST as exc:
                logger.warning("read cache listener lost", extra={"error": str(exc)})
            finally:
                self.backend_pid = None
                self._on_down()
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    async def _listen(self) -> None:
        conn: asyncpg.Connection = await connect_to_primary(
            self._url,
            timeout=self._connect_timeout,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._notified)
            self.backend_pid = conn.get_server_pid()
            self._on_up()
            loop = asyncio.get_running_loop()
            fold_at = loop.time()
            while not lost.is_set():
                await conn.fetchval(_ANNOUNCE, timeout=self._answer_timeout)
                if loop.time() >= fold_at:
                    folded = await conn.fetchval(_FOLD, _FOLD_BATCH, timeout=self._answer_timeout)
                    # A full batch: more are waiting, fold them on the next turn.
                    fold_at = loop.time() + (0 if folded == _FOLD_BATCH else _FOLD_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._announce_seconds)
            logger.warning("read cache listener lost", extra={"error": "connection closed"})
        finally:
            conn.terminate()
