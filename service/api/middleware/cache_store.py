"""The per-worker store of anonymous responses: a least-recently-used map within a byte budget,
with a maximum age, an index from what a page shows to the pages, and the rule that keeps a
response read before a change from being stored after it. Which misses are offered to it at all
is its `doorkeeper`'s to say (`cache_admission`).

Keys (what a page depends on) are the words of the `read_cache` notifications
(sql/migrations/0017_read_cache_notify.sql): `b:<id>`, `s:<slug>`, `c:<id>`, `k:<slug>`, `L` for
the lists, `*` for everything.

The race rule. Every invalidation received moves the worker's `sequence` on, and is remembered
for a while (key, sequence, time). A miss takes a `Ticket` (the sequence and time) before it
reads; its response is stored only if the store was listening all along and none of its keys
(nor `*`) was invalidated since the ticket. A change that commits before the read's snapshot is
seen by the read; one that commits after it is announced after the ticket, so either the
response is refused, or it was stored first and the announcement drops it.

A read served by a replica may be older than an announcement received before its ticket, by up
to the replica's lag. Such a response is stored only if none of its keys was invalidated within
`replica_window` seconds before its ticket (REPLICA_MAX_LAG plus the lag checks' interval: a
replica further behind gets no reads).
"""

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from service.api.middleware.cache_admission import Doorkeeper
from service.observability import metrics

EVERYTHING = "*"

# Bookkeeping per entry and per key, over the bytes of the key, headers and body.
_ENTRY_OVERHEAD = 600
_DEPENDENCY_OVERHEAD = 150
# Invalidations remembered for the race rule; a miss whose ticket is older than all of them is
# refused (it has been reading for longer than any request should).
_REMEMBERED = 50_000
_REMEMBER_SECONDS = 30.0

_HITS = metrics.read_cache_lookups.labels("hit")
_STORED = metrics.read_cache_stores.labels("stored")
_REFUSED_RACE = metrics.read_cache_stores.labels("refused_race")
_REFUSED_REPLICA = metrics.read_cache_stores.labels("refused_replica")
_REFUSED_LISTENER = metrics.read_cache_stores.labels("refused_not_listening")
_TOO_LARGE = metrics.read_cache_stores.labels("refused_too_large")
_EVICTED_BUDGET = metrics.read_cache_evictions.labels("budget")
_EVICTED_AGE = metrics.read_cache_evictions.labels("age")
_DROPPED = metrics.read_cache_evictions.labels("invalidated")


class Ticket(NamedTuple):
    sequence: int
    at: float


@dataclass(slots=True, eq=False)
class Entry:
    """A 200 answer as the app sent it, and the 304 it would send for a matching tag."""

    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str | None
    not_modified_headers: list[tuple[bytes, bytes]]
    route: Any
    """The route that answered, set in a hit's scope so logs and metrics name it."""
    dependencies: tuple[str, ...]
    stored_at: float
    size: int


class ResponseStore:
    def __init__(self, *, max_bytes: int, max_age: float, replica_window: float) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max(max_bytes // 8, 1)
        self.max_age = max_age
        self.replica_window = replica_window
        self.listening = False
        """Whether the invalidations are being received; until then, no lookups, no stores."""
        self.sequence = 0
        self.bytes = 0
        self._stores = 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._pages: dict[str, set[bytes]] = {}
        # Latest invalidation of each key: (sequence, monotonic time), oldest first.
        self._recent: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._forgotten = Ticket(0, float("-inf"))
        self.doorkeeper = Doorkeeper()
        """The keys seen once. Invalidations leave it alone: a page dropped for a change was
        read before, so its next miss is stored at once."""

    def __len__(self) -> int:
        return len(self._entries)

    # --- the hit path ----------------------------------------------------------------------

    def get(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None  # counted as a miss once the answer shows it is a public read
        if time.monotonic() - entry.stored_at > self.max_age:
            self._remove(key)
            _EVICTED_AGE.inc()
            return None
        self._entries.move_to_end(key)
        _HITS.inc()
        return entry

    # --- the miss path ---------------------------------------------------------------------

    def ticket(self) -> Ticket:
        return Ticket(self.sequence, time.monotonic())

    def put(self, key: bytes, entry: Entry, ticket: Ticket, *, from_replica: bool) -> bool:
        """Store `entry` unless the race rule refuses it; whether it was stored."""
        if not self.listening:
            _REFUSED_LISTENER.inc()
            return False
        if not self._current(entry.dependencies, ticket):
            _REFUSED_RACE.inc()
            return False
        if from_replica and not self._replica_current(entry.dependencies, ticket):
            _REFUSED_REPLICA.inc()
            return False
        # Headers are a few short ones: counted in the overhead.
        entry.size = (
            _ENTRY_OVERHEAD
            + 2 * len(key)
            + len(entry.body)
            + _DEPENDENCY_OVERHEAD * len(entry.dependencies)
        )
        if entry.size > self.max_entry_bytes:
            _TOO_LARGE.inc()
            return False
        if key in self._entries:
            self._remove(key)
        self._entries[key] = entry
        self.bytes += entry.size
        for dependency in entry.dependencies:
            self._pages.setdefault(dependency, set()).add(key)
        while self.bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))
            _EVICTED_BUDGET.inc()
        _STORED.inc()
        self._stores += 1
        if not self._stores % 64:  # the gauge takes a lock: not on every store
            metrics.read_cache_bytes.set(self.bytes)
        return True

    def _current(self, dependencies: tuple[str, ...], ticket: Ticket) -> bool:
        if self.sequence == ticket.sequence:
            return True
        if ticket.sequence < self._forgotten.sequence:
            return False
        for dependency in (EVERYTHING, *dependencies):
            latest = self._recent.get(dependency)
            if latest is not None and latest[0] > ticket.sequence:
                return False
        return True

    def _replica_current(self, dependencies: tuple[str, ...], ticket: Ticket) -> bool:
        horizon = ticket.at - self.replica_window
        if self._forgotten.at >= horizon:
            return False
        for dependency in (EVERYTHING, *dependencies):
            latest = self._recent.get(dependency)
            if latest is not None and latest[1] >= horizon:
                return False
        return True

    # --- invalidation ----------------------------------------------------------------------

    def invalidate(self, dependencies: Iterable[str]) -> None:
        """Drop every page that shows any of `dependencies`, and remember them for the race rule."""
        self.sequence += 1
        now = time.monotonic()
        for dependency in dependencies:
            if dependency == EVERYTHING:
                self._clear()
            else:
                for key in self._pages.pop(dependency, ()):
                    if key in self._entries:
                        self._remove(key)
                        _DROPPED.inc()
            self._recent[dependency] = (self.sequence, now)
            self._recent.move_to_end(dependency)
        while self._recent:
            oldest, (sequence, at) = next(iter(self._recent.items()))
            if len(self._recent) <= _REMEMBERED and now - at <= _REMEMBER_SECONDS:
                break
            del self._recent[oldest]
            self._forgotten = Ticket(sequence, at)
        metrics.read_cache_bytes.set(self.bytes)

    def listener_up(self) -> None:
        """Listening again: what changed meanwhile was never announced, so drop it all."""
        self.invalidate((EVERYTHING,))
        self.listening = True
        metrics.read_cache_listening.set(1)

    def listener_down(self) -> None:
        """No more announcements: nothing read from here, nothing stored, until listening."""
        self.listening = False
        self.invalidate((EVERYTHING,))
        metrics.read_cache_listening.set(0)

    def _clear(self) -> None:
        _DROPPED.inc(len(self._entries))
        self._entries.clear()
        self._pages.clear()
        self.bytes = 0

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size
        for dependency in entry.dependencies:
            pages = self._pages.get(dependency)
            if pages is not None:
                pages.discard(key)
                if not pages:
                    del self._pages[dependency]
