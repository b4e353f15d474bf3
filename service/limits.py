"""Rate limits kept in PostgreSQL (`rate_limits`), so every worker and machine shares them.

An attempt is counted, atomically, before the work it stands for (hashing a password), so any
number of concurrent attempts gets exactly `max_hits` through per window. Fixed windows: a
counter starts at the first attempt and resets when its window ends. Ended windows are swept in
small batches now and then by the attempts themselves.
"""

import asyncio
import hashlib
import math
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from service.db import queries
from service.db.database import Connection
from service.errors import TooManyAttempts

SWEEP_CHANCE = 1 / 64
SWEEP_BATCH = 500
KNOWN_OVER_LIMIT_KEYS = 10_000


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: float

    def key(self, *subject: str) -> str:
        # A hash, so a hostile subject (a 1 MB "email") never makes a long key.
        digest = hashlib.sha256("\x1f".join(subject).encode(errors="surrogatepass")).hexdigest()
        return f"{self.name}:{digest}"


Attempt = tuple[Limit, tuple[str, ...]]


class KnownOverLimit:
    """Keys this process has seen over their limit, each until its window ends: an attempt under
    one is refused without asking the database, so a client hammering past a limit costs little.
    Counters only grow within a window, so this never lets through what the database would not
    (a right password from elsewhere, which takes an account-wide attempt back, is the one case
    where it refuses a little longer than the database would, at most one window)."""

    def __init__(self, max_keys: int = KNOWN_OVER_LIMIT_KEYS) -> None:
        self._until: dict[str, float] = {}
        self._max_keys = max_keys
        self._counting: dict[str, _KeyLock] = {}

    @asynccontextmanager
    async def counting(self, keys: Sequence[str]) -> AsyncIterator[None]:
        """One count at a time per key; the others on that key wait, then look here again. A
        burst of attempts from one client thus costs a few round trips, not one each: the first
        answers over the limit, and the rest are refused from memory.

        The lock is the keys' own, never one shared by different clients: its holder may wait
        for a pooled connection (up to DB_ACQUIRE_TIMEOUT), and only attempts on the same keys
        may wait behind it, not every login, sign-up and write of the process. Keys are taken
        in sorted order, so two attempts sharing some of them cannot wait on each other."""
        registered: list[str] = []
        acquired: list[asyncio.Lock] = []
        try:
            for key in sorted(set(keys)):
                entry = self._counting.get(key)
                if entry is None:
                    entry = self._counting[key] = _KeyLock()
                entry.users += 1
                registered.append(key)
                await entry.lock.acquire()
                acquired.append(entry.lock)
            yield
        finally:
            for lock in acquired:
                lock.release()
            for key in registered:
                entry = self._counting[key]
                entry.users -= 1
                if entry.users == 0:
                    del self._counting[key]

    def seconds_left(self, keys: Sequence[str]) -> float:
        """How long the first key still known to be over its limit stays so; 0 for none."""
        now = time.monotonic()
        for key in keys:
            until = self._until.get(key)
            if until is not None:
                if until > now:
                    return until - now
                del self._until[key]
        return 0.0

    def remember(self, key: str, seconds_left: float) -> None:
        if len(self._until) >= self._max_keys:
            now = time.monotonic()
            self._until = {k: t for k, t in self._until.items() if t > now}
            if len(self._until) >= self._max_keys:
                return  # full of live entries: the database still refuses them
        self._until[key] = time.monotonic() + seconds_left


@dataclass
class _KeyLock:
    """A key's counting lock, and how many attempts hold or wait for it (gone at none)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _refuse(message: str, seconds_left: float) -> TooManyAttempts:
    return TooManyAttempts(message, retry_after=max(math.ceil(seconds_left), 1))


async def count(
    *, db: Connection, attempts: Sequence[Attempt], message: str, known: KnownOverLimit
) -> None:
    """Count one attempt under each limit; TooManyAttempts if any of them is now over."""
    limits = {limit.key(*subject): limit for limit, subject in attempts}
    async with known.counting(list(limits)):
        if seconds_left := known.seconds_left(list(limits)):
            raise _refuse(message, seconds_left)
        rows = await db.fetch_rows(
            queries.RATE_LIMIT_HIT,
            keys=list(limits),
            window_seconds=[limit.window_seconds for limit in limits.values()],
        )
    if random.random() < SWEEP_CHANCE:  # noqa: S311 - spreading work, not security
        await db.fetch_rows(queries.RATE_LIMIT_SWEEP, batch=SWEEP_BATCH)
    over = [row for row in rows if row["hits"] > limits[row["key"]].max_hits]
    for row in over:
        known.remember(row["key"], row["seconds_left"])
    if over:
        raise _refuse(message, max(row["seconds_left"] for row in over))


async def forgive(
    *, db: Connection, attempts: Sequence[Attempt], cleared: Sequence[Attempt] = ()
) -> None:
    """Take back attempts counted by `count` that turned out fine; forget `cleared` entirely."""
    await db.fetch_rows(
        queries.RATE_LIMIT_FORGIVE,
        keys=[limit.key(*subject) for limit, subject in attempts],
        cleared=[limit.key(*subject) for limit, subject in cleared],
    )


@dataclass(frozen=True)
class SignupLimits:
    per_address: Limit
    known: KnownOverLimit
    message: ClassVar[str] = "too many sign-ups from this address; try again later"

    async def count(self, *, db: Connection, address: str) -> None:
        attempts = [(self.per_address, (address,))]
        await count(db=db, attempts=attempts, message=self.message, known=self.known)

    def known_over(self, address: str) -> float:
        """Seconds this address is still known to be over the limit (0: not known to be)."""
        return self.known.seconds_left([self.per_address.key(address)])


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins for one account from one address (tight: a guesser at one address), for
    the account from anywhere (loose: a guesser spread over many addresses) and from one
    address for any account (a guesser trying many accounts). Every attempt counts before the
    password is checked; a right password takes its attempt back. A real user at their own
    address is only held back by the loose account-wide limit, for as long as an attack lasts."""

    per_account_and_address: Limit
    per_account: Limit
    per_address: Limit
    known: KnownOverLimit
    message: ClassVar[str] = "too many failed logins; try again later"

    def _attempts(self, account: str, address: str) -> list[Attempt]:
        return [
            (self.per_account_and_address, (account, address)),
            (self.per_account, (account,)),
            (self.per_address, (address,)),
        ]

    async def count(self, *, db: Connection, account: str, address: str) -> None:
        attempts = self._attempts(account, address)
        await count(db=db, attempts=attempts, message=self.message, known=self.known)

    async def forgive(self, *, db: Connection, account: str, address: str) -> None:
        """A right password: clear the pair's count, take the attempt back from the others."""
        pair, *others = self._attempts(account, address)
        await forgive(db=db, attempts=others, cleared=[pair])

    def known_over(self, address: str) -> float:
        return self.known.seconds_left([self.per_address.key(address)])


@dataclass(frozen=True)
class WriteLimits:
    """Writes per user: a signed-in client cannot fill the tables (or hold the pool with
    writes) faster than this, whatever the number of workers."""

    per_user: Limit
    known: KnownOverLimit
    message: ClassVar[str] = "too many changes from this user; try again later"

    async def count(self, *, db: Connection, user_id: int) -> None:
        attempts = [(self.per_user, (str(user_id),))]
        await count(db=db, attempts=attempts, message=self.message, known=self.known)
