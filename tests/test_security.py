from datetime import UTC, datetime, timedelta

import pytest

from service.errors import AuthenticationFailed
from service.security import (
    create_access_token,
    hash_password,
    read_access_token,
    verify_password,
)

pytestmark = pytest.mark.anyio


async def test_hash_and_verify() -> None:
    password_hash = await hash_password("a good password")
    assert password_hash.startswith("$argon2id$")
    assert "a good password" not in password_hash
    assert await verify_password("a good password", password_hash)
    assert not await verify_password("a wrong password", password_hash)


async def test_hashes_are_salted() -> None:
    assert await hash_password("same password") != await hash_password("same password")


async def test_no_hash_never_verifies() -> None:
    assert not await verify_password("not a real password", None)


def test_token_round_trip() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    token = create_access_token(user_id=42, secret="s" * 32, expires_in=timedelta(minutes=5))
    user_id, issued_at = read_access_token(token, secret="s" * 32)
    assert user_id == 42
    assert before <= issued_at <= datetime.now(UTC)


@pytest.mark.parametrize("token", ["", "x", "a.b.c"])
def test_garbage_tokens_fail(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        read_access_token(token, secret="s" * 32)


def test_expired_tokens_fail() -> None:
    token = create_access_token(user_id=1, secret="s" * 32, expires_in=timedelta(seconds=-1))
    with pytest.raises(AuthenticationFailed):
        read_access_token(token, secret="s" * 32)
