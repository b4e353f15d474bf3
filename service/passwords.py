"""Password hashing with Argon2id, bounded in memory and CPU.

Parameters: OWASP's first recommended Argon2id configuration (19 MiB of memory, 2 iterations,
1 lane), about 45 ms and 19 MiB per hash on one core of the reference machine. A stored hash made
with other parameters is upgraded at the owner's next successful login.

At most `concurrency` hashes run at once per process, on a thread pool of their own with that
many threads, so memory stays near `concurrency` x 19 MiB whatever the traffic. (Not the event
loop's default thread pool: the C allocator keeps a freed Argon2 buffer per thread that ever
hashed, so hashing on any of its 40 threads let memory grow to 40 x 19 MiB.) A request that
cannot start hashing within `wait_seconds` gets `HashingBusy` (503) instead of queueing without
end. Hashing never holds a database connection: callers release theirs first.
"""

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from service.errors import HashingBusy
from service.observability import metrics

T = TypeVar("T")

ARGON2_MEMORY_KIB = 19_456
ARGON2_ITERATIONS = 2
ARGON2_LANES = 1

_argon2 = PasswordHash(
    (
        Argon2Hasher(
            time_cost=ARGON2_ITERATIONS, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES
        ),
    )
)


class PasswordHasher:
    def __init__(self, *, concurrency: int, wait_seconds: float) -> None:
        self.concurrency = concurrency
        self._wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="password-hash")
        self.hashing = 0
        self.waiting = 0
        started = time.perf_counter()
        # Verified against when an email is unknown, so a login takes as long for an unknown
        # email as for a wrong password and its timing does not reveal which emails exist.
        self._dummy_hash = self._threads.submit(_argon2.hash, "not a real password").result()
        self._typical_seconds = time.perf_counter() - started

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _run(self, work: Callable[..., T], *args: object) -> T:
        self.waiting += 1
        metrics.hashes_waiting.inc()
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise HashingBusy("the server is busy checking passwords; try again") from None
        finally:
            self.waiting -= 1
            metrics.hashes_waiting.dec()
        self.hashing += 1
        metrics.hashes_in_progress.inc()
        try:
            started = time.perf_counter()
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._threads, functools.partial(work, *args))
            # A moving average of what one hash costs here, for `pretend`.
            self._typical_seconds += (time.perf_counter() - started - self._typical_seconds) / 8
            return result
        finally:
            self.hashing -= 1
            metrics.hashes_in_progress.dec()
            self._slots.release()

    async def hash(self, password: str) -> str:
        return await self._run(_argon2.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Whether the password matches, and a rehash with the current parameters when the
        stored one uses others. With no hash (unknown user) a dummy one is checked: False."""
        ok, updated = await self._run(
            _argon2.verify_and_update, password, password_hash or self._dummy_hash
        )
        if password_hash is None:
            return False, None
        return ok, updated

    async def pretend(self) -> None:
        """Take about as long as a hash, without the work: answers that must not reveal, by
        their timing, that no hash was needed."""
        await asyncio.sleep(self._typical_seconds)
