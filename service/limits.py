"""Rate limits kept in PostgreSQL (`rate_limits`), so every worker and machine shares them.

An attempt is counted, atomically, before the work it stands for (hashing a password), so any
number of concurrent attempts gets exactly `max_hits` through per window. Fixed windows: a
counter starts at the first attempt and resets when its window ends. Ended windows are swept in
small batches now and then by the attempts themselves.
"""

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from service.db import queries
from service.db.database import Connection
from service.errors import TooManyAttempts

SWEEP_CHANCE = 1 / 64
SWEEP_BATCH = 500


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


async def count(*, db: Connection, attempts: Sequence[Attempt], message: str) -> None:
    """Count one attempt under each limit; TooManyAttempts if any of them is now over."""
    limits = {limit.key(*subject): limit for limit, subject in attempts}
    rows = await db.fetch_rows(
        queries.RATE_LIMIT_HIT,
        keys=list(limits),
        window_seconds=[limit.window_seconds for limit in limits.values()],
    )
    if random.random() < SWEEP_CHANCE:  # noqa: S311 - spreading work, not security
        await db.fetch_rows(queries.RATE_LIMIT_SWEEP, batch=SWEEP_BATCH)
    over = [row for row in rows if row["hits"] > limits[row["key"]].max_hits]
    if over:
        seconds_left = max(row["seconds_left"] for row in over)
        raise TooManyAttempts(message, retry_after=max(math.ceil(seconds_left), 1))


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

    def attempts(self, *, address: str) -> list[Attempt]:
        return [(self.per_address, (address,))]


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins for one account from one address (tight: a guesser at one address), for
    the account from anywhere (loose: a guesser spread over many addresses), and from one
    address for any account (a guesser trying many accounts). A real user at their own address
    is only held back by the loose account-wide limit, for as long as an attack lasts."""

    per_account_and_address: Limit
    per_account: Limit
    per_address: Limit

    def attempts(self, *, account: str, address: str) -> list[Attempt]:
        return [
            (self.per_account_and_address, (account, address)),
            (self.per_account, (account,)),
            (self.per_address, (address,)),
        ]
