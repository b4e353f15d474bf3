import pytest

from service.api.login_limits import LoginLimiter
from service.errors import TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> LoginLimiter:
    return LoginLimiter(
        window_seconds=60, per_account_and_address=3, per_account=5, per_address=4, clock=clock
    )


def _fail(limiter: LoginLimiter, times: int, account: str = "ada", address: str = "1.1.1.1"):
    for _ in range(times):
        limiter.check(account=account, address=address)
        limiter.failed(account=account, address=address)


def test_failures_from_one_address_for_one_account_are_limited(
    limiter: LoginLimiter, clock: Clock
) -> None:
    _fail(limiter, 3)
    with pytest.raises(TooManyAttempts) as refused:
        limiter.check(account="ada", address="1.1.1.1")
    assert refused.value.retry_after == 60
    clock.now += 30
    with pytest.raises(TooManyAttempts) as refused:
        limiter.check(account="ada", address="1.1.1.1")
    assert refused.value.retry_after == 30
    clock.now += 30
    limiter.check(account="ada", address="1.1.1.1")


def test_the_real_user_elsewhere_is_not_locked_out_by_one_attacker(limiter: LoginLimiter) -> None:
    _fail(limiter, 3, address="6.6.6.6")
    limiter.check(account="ada", address="1.1.1.1")


def test_an_attack_from_many_addresses_hits_the_account_limit(limiter: LoginLimiter) -> None:
    for n in range(5):
        _fail(limiter, 1, address=f"6.6.6.{n}")
    with pytest.raises(TooManyAttempts):
        limiter.check(account="ada", address="1.1.1.1")


def test_one_address_trying_many_accounts_is_limited(limiter: LoginLimiter) -> None:
    for n in range(4):
        _fail(limiter, 1, account=f"user{n}")
    with pytest.raises(TooManyAttempts):
        limiter.check(account="someone-else", address="1.1.1.1")
    limiter.check(account="someone-else", address="2.2.2.2")


def test_a_success_clears_that_address_s_failures(limiter: LoginLimiter) -> None:
    _fail(limiter, 2)
    limiter.succeeded(account="ada", address="1.1.1.1")
    _fail(limiter, 1)
    # Without the reset this would be the third failure of the pair, and refused.
    limiter.check(account="ada", address="1.1.1.1")


def test_memory_is_bounded(limiter: LoginLimiter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.api.login_limits._MAX_KEYS", 30)
    for n in range(100):
        limiter.failed(account=f"made-up-{n}", address=f"10.0.0.{n}")
    assert len(limiter._failures) <= 30
