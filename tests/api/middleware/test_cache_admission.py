"""The doorkeeper on its own: a key is seen once it is remembered, the window never holds more
than its capacity, and a key it forgot when it started over needs two sights again."""

from service.api.middleware.cache_admission import CAPACITY, Doorkeeper


def test_a_key_is_seen_once_remembered_and_no_other_is() -> None:
    doorkeeper = Doorkeeper()
    assert not doorkeeper.seen(b"/blogs/1?")
    doorkeeper.remember(b"/blogs/1?")
    assert doorkeeper.seen(b"/blogs/1?")
    assert not doorkeeper.seen(b"/blogs/1?n=1")
    assert not doorkeeper.seen(b"/blogs/10?")


def test_endless_distinct_keys_never_hold_more_than_the_capacity() -> None:
    doorkeeper = Doorkeeper()
    for n in range(3 * CAPACITY):
        doorkeeper.remember(b"/blogs?n=%d" % n)
        assert len(doorkeeper) <= CAPACITY
    assert len(doorkeeper) == CAPACITY  # it started over twice, and is full again


def test_a_full_window_starts_over_and_what_it_forgot_needs_two_sights_again() -> None:
    doorkeeper = Doorkeeper(capacity=3)
    for key in (b"/a?", b"/b?", b"/c?"):
        doorkeeper.remember(key)
    assert all(doorkeeper.seen(key) for key in (b"/a?", b"/b?", b"/c?"))
    doorkeeper.remember(b"/d?")
    assert len(doorkeeper) == 1
    assert doorkeeper.seen(b"/d?")
    assert not doorkeeper.seen(b"/a?")
    doorkeeper.remember(b"/a?")
    assert doorkeeper.seen(b"/a?")
