"""Failed-login limits, in memory, per process.

Failures count in a sliding window under three keys: the account together with the client
address (tight: a guesser at one address), the account alone (loose: a guesser spread over many
addresses) and the address alone (a guesser trying many accounts). A real user at their own
address is only affected by the loose account-wide limit, and only while the attack lasts plus
one window, so an attacker cannot lock them out for long. Blocked attempts are refused before
the password is checked, so they cost no hashing.
"""

import math
import time
from collections import deque
from collections.abc import Callable

from service.errors import TooManyAttempts

_MAX_KEYS = 100_000


class LoginLimiter:
    def __init__(
        self,
        *,
        window_seconds: float,
        per_account_and_address: int,
        per_account: int,
        per_address: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window_seconds
        self._limits = {
            "pair": per_account_and_address,
            "account": per_account,
            "address": per_address,
        }
        self._clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}

    def _keys(self, account: str, address: str) -> list[tuple[str, ...]]:
        return [("pair", account, address), ("account", account), ("address", address)]

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def check(self, *, account: str, address: str) -> None:
        """Raise TooManyAttempts if any limit is used up."""
        now = self._clock()
        for key in self._keys(account, address):
            failures = self._recent(key, now)
            if failures is not None and len(failures) >= self._limits[key[0]]:
                retry_after = math.ceil(failures[0] + self._window - now)
                raise TooManyAttempts(
                    "too many failed logins; try again later", retry_after=max(retry_after, 1)
                )

    def failed(self, *, account: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(account, address):
            self._failures.setdefault(key, deque()).append(now)
        # Bound the memory an attacker with endless made-up emails can take: drop the oldest keys.
        while len(self._failures) > _MAX_KEYS:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, *, account: str, address: str) -> None:
        self._failures.pop(("pair", account, address), None)
