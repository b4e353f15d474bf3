"""The response store on its own: the byte budget, the maximum age, and the race rules (an
invalidation after a miss's ticket refuses its response; a replica's read is refused within the
replica window of an invalidation; nothing is stored while not listening)."""

import time

from service.api.middleware.cache_store import Entry, ResponseStore


def _entry(*keys: str, body: bytes = b"{}", at: float | None = None) -> Entry:
    return Entry(
        headers=[(b"content-type", b"application/json")],
        body=body,
        etag=None,
        not_modified_headers=[],
        route=None,
        dependencies=keys,
        stored_at=time.monotonic() if at is None else at,
        size=0,
    )


def _store(**options: float) -> ResponseStore:
    store = ResponseStore(
        max_bytes=int(options.get("max_bytes", 1 << 20)),
        max_age=options.get("max_age", 60.0),
        replica_window=options.get("replica_window", 6.0),
    )
    store.listener_up()
    return store


def test_endless_distinct_keys_only_evict_the_least_recently_used_within_the_budget() -> None:
    store = _store(max_bytes=100_000)
    body = b"x" * 1_000
    kept = b"/blogs/1?"
    assert store.put(kept, _entry("b:1", body=body), store.ticket(), from_replica=False)
    for n in range(2_000):
        assert store.get(kept) is not None  # used all along: never the one evicted
        assert store.put(
            b"/blogs?n=%d" % n, _entry("L", body=body), store.ticket(), from_replica=False
        )
        assert store.bytes <= store.max_bytes
    assert 50 < len(store) < 100
    assert store.get(kept) is not None
    assert store.get(b"/blogs?n=0") is None
    assert store.get(b"/blogs?n=1999") is not None


def test_an_entry_larger_than_an_eighth_of_the_budget_is_not_stored() -> None:
    store = _store(max_bytes=80_000)
    assert not store.put(
        b"/big?", _entry("L", body=b"x" * 10_001), store.ticket(), from_replica=False
    )
    assert len(store) == 0


def test_an_entry_past_the_maximum_age_is_a_miss() -> None:
    store = _store(max_age=10)
    store.put(b"/old?", _entry("L", at=time.monotonic() - 11), store.ticket(), from_replica=False)
    store.put(b"/new?", _entry("L"), store.ticket(), from_replica=False)
    assert store.get(b"/old?") is None
    assert store.get(b"/new?") is not None


def test_an_invalidation_drops_the_pages_that_depend_on_it_and_no_others() -> None:
    store = _store()
    store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=False)
    store.put(b"/blogs/2?", _entry("b:2"), store.ticket(), from_replica=False)
    store.put(b"/blogs?", _entry("L"), store.ticket(), from_replica=False)
    store.invalidate(["b:1"])
    assert store.get(b"/blogs/1?") is None
    assert store.get(b"/blogs/2?") is not None
    assert store.get(b"/blogs?") is not None
    store.invalidate(["*"])
    assert len(store) == 0 and store.bytes == 0


def test_a_read_that_began_before_an_invalidation_of_what_it_shows_is_not_stored() -> None:
    store = _store()
    ticket = store.ticket()
    store.invalidate(["b:1"])
    assert not store.put(b"/blogs/1?", _entry("b:1"), ticket, from_replica=False)
    # What it does not show may have changed meanwhile.
    assert store.put(b"/blogs/2?", _entry("b:2"), ticket, from_replica=False)
    store.invalidate(["*"])
    assert not store.put(b"/blogs/2?", _entry("b:2"), ticket, from_replica=False)
    assert store.put(b"/blogs/2?", _entry("b:2"), store.ticket(), from_replica=False)


def test_a_replica_read_is_not_stored_within_the_replica_window_of_an_invalidation() -> None:
    store = _store(replica_window=0.2)
    # Just listening: what changed before is as if just announced, for replicas too.
    assert not store.put(b"/blogs/2?", _entry("b:2"), store.ticket(), from_replica=True)
    time.sleep(0.25)
    store.invalidate(["b:1"])
    assert not store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=True)
    assert store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=False)
    assert store.put(b"/blogs/2?", _entry("b:2"), store.ticket(), from_replica=True)
    time.sleep(0.25)
    assert store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=True)


def test_nothing_is_stored_while_not_listening_nor_from_a_read_that_began_then() -> None:
    store = _store()
    store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=False)
    store.listener_down()
    assert len(store) == 0
    ticket = store.ticket()
    assert not store.put(b"/blogs/1?", _entry("b:1"), ticket, from_replica=False)
    store.listener_up()
    assert not store.put(b"/blogs/1?", _entry("b:1"), ticket, from_replica=False)
    assert store.put(b"/blogs/1?", _entry("b:1"), store.ticket(), from_replica=False)
