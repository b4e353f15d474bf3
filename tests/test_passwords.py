import asyncio
import threading
import time

import pytest
from pwdlib.hashers.argon2 import Argon2Hasher

from service import passwords
from service.errors import HashingBusy
from service.passwords import ARGON2_MEMORY_KIB, PasswordHasher

pytestmark = pytest.mark.anyio


async def test_a_hash_verifies_and_uses_the_chosen_parameters() -> None:
    hasher = PasswordHasher(concurrency=1, wait_seconds=5)
    stored = await hasher.hash("correct horse")
    assert stored.startswith(f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},t=2,p=1$")
    assert await hasher.verify("correct horse", stored) == (True, None)
    assert await hasher.verify("wrong horse", stored) == (False, None)


async def test_an_unknown_user_never_verifies() -> None:
    hasher = PasswordHasher(concurrency=1, wait_seconds=5)
    assert await hasher.verify("not a real password", None) == (False, None)


async def test_a_hash_with_older_parameters_is_upgraded_on_verify() -> None:
    hasher = PasswordHasher(concurrency=1, wait_seconds=5)
    old = Argon2Hasher(time_cost=3, memory_cost=65536, parallelism=4).hash("correct horse")
    ok, upgraded = await hasher.verify("correct horse", old)
    assert ok
    assert upgraded is not None and upgraded.startswith(f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},")
    assert await hasher.verify("correct horse", upgraded) == (True, None)


async def test_no_more_hashes_run_at_once_than_the_concurrency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = PasswordHasher(concurrency=2, wait_seconds=30)
    running = peak = 0
    threads: set[int] = set()
    real_hash = passwords._argon2.hash

    def counting_hash(password: str) -> str:
        nonlocal running, peak
        threads.add(threading.get_ident())
        running += 1
        peak = max(peak, running)
        try:
            time.sleep(0.05)
            return real_hash(password)
        finally:
            running -= 1

    monkeypatch.setattr(passwords._argon2, "hash", counting_hash)
    await asyncio.gather(*(hasher.hash(f"password {i}") for i in range(8)))
    assert peak == 2
    # On two threads of its own: each thread keeps a freed Argon2 buffer, so threads are memory.
    assert len(threads) == 2
    assert threading.get_ident() not in threads


async def test_a_hash_that_cannot_start_in_time_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = PasswordHasher(concurrency=1, wait_seconds=0.05)
    started = asyncio.Event()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow_hash(password: str) -> str:
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return "hashed"

    monkeypatch.setattr(passwords._argon2, "hash", slow_hash)
    first = asyncio.create_task(hasher.hash("first"))
    await started.wait()
    with pytest.raises(HashingBusy):
        await hasher.hash("second")
    assert hasher.waiting == 0
    release.set()
    assert await first == "hashed"


async def test_pretend_takes_about_as_long_as_a_hash() -> None:
    hasher = PasswordHasher(concurrency=1, wait_seconds=5)
    started = time.perf_counter()
    await hasher.hash("correct horse")
    hashing = time.perf_counter() - started
    started = time.perf_counter()
    await hasher.pretend()
    pretending = time.perf_counter() - started
    assert pretending >= hashing / 4


async def test_hashes_are_salted_and_never_hold_the_password() -> None:
    hasher = PasswordHasher(concurrency=2, wait_seconds=5)
    first, second = await hasher.hash("same password"), await hasher.hash("same password")
    assert first != second
    assert "same password" not in first
