from datetime import timedelta

import jwt
import pytest

from service.api.cursors import CursorCodec
from service.errors import AuthenticationFailed
from service.keys import derive_key
from service.tokens import ALGORITHM, TokenClaims, TokenCodec

SECRET = "s" * 40


def codec(**changes: object) -> TokenCodec:
    options: dict = {
        "secret": SECRET,
        "issuer": "blog-api",
        "audience": "deployment-a",
        "expires_in": timedelta(minutes=5),
    } | changes
    return TokenCodec(**options)


def test_a_token_round_trips_its_user_and_version() -> None:
    tokens = codec()
    assert tokens.decode(tokens.encode(user_id=7, version=3)) == TokenClaims(user_id=7, version=3)


@pytest.mark.parametrize(
    "other",
    [
        {"audience": "deployment-b"},  # another database, or this one reseeded
        {"issuer": "someone-else"},
        {"secret": "t" * 40},
        {"expires_in": timedelta(seconds=-1)},
    ],
)
def test_a_token_from_elsewhere_or_expired_is_refused(other: dict) -> None:
    token = codec(**other).encode(user_id=7, version=0)
    with pytest.raises(AuthenticationFailed):
        codec().decode(token)


def test_the_token_key_is_not_the_secret_nor_the_cursor_key() -> None:
    token_key = derive_key(SECRET, "access tokens")
    assert token_key != SECRET.encode()
    assert token_key != derive_key(SECRET, "page cursors")
    assert CursorCodec(SECRET)._key == derive_key(SECRET, "page cursors")
    # Signed with the raw secret (as an attacker who recovered it from elsewhere would): refused.
    forged = jwt.encode(
        {"sub": "1", "ver": 0, "iat": 0, "exp": 2**40, "iss": "blog-api", "aud": "deployment-a"},
        SECRET,
        algorithm=ALGORITHM,
    )
    with pytest.raises(AuthenticationFailed):
        codec().decode(forged)


@pytest.mark.parametrize("version", [-1, "0", 1.5, 2**63, None])
def test_a_token_with_a_bad_version_is_refused(version: object) -> None:
    key = derive_key(SECRET, "access tokens")
    claims = {"sub": "1", "ver": version, "iat": 0, "exp": 2**40}
    token = jwt.encode(claims | {"iss": "blog-api", "aud": "deployment-a"}, key, ALGORITHM)
    with pytest.raises(AuthenticationFailed):
        codec().decode(token)


@pytest.mark.parametrize("token", ["", "x", "a.b.c", "x" * 20_000])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed):
        codec().decode(token)
