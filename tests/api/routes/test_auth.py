import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.db.database import Connection
from service.keys import derive_key
from service.models import MAX_ID
from service.passwords import PasswordHasher
from service.testing.accounts import PASSWORD, SignUp
from service.testing.app import TOKEN_SECRET
from service.tokens import ALGORITHM

pytestmark = pytest.mark.anyio

# The key the service signs access tokens with: derived from TOKEN_SECRET for tokens alone.
TOKEN_KEY = derive_key(TOKEN_SECRET, "access tokens")


async def test_log_in(client: AsyncClient, sign_up: SignUp, db: Connection) -> None:
    account = await sign_up()
    response = await client.post(
        "/auth/token", data={"username": f"  {account.email.upper()} ", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    deployment = await (await db.raw()).fetchval("SELECT id::text FROM deployment")
    claims = jwt.decode(
        body["access_token"],
        TOKEN_KEY,
        algorithms=[ALGORITHM],
        audience=deployment,
        issuer="blog-api",
    )
    assert claims["sub"] == str(account.id)
    assert claims["ver"] == 0
    assert claims["exp"] > claims["iat"]
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == account.id


async def test_wrong_email_and_wrong_password_look_the_same(
    client: AsyncClient, sign_up: SignUp, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await sign_up()
    checked: list[str | None] = []
    hasher: PasswordHasher = app.state.hasher
    verify = hasher.verify

    async def spy(password: str, password_hash: str | None) -> tuple[bool, str | None]:
        checked.append(password_hash)
        return await verify(password, password_hash)

    monkeypatch.setattr(hasher, "verify", spy)
    wrong_password = await client.post(
        "/auth/token", data={"username": account.email, "password": "not the password"}
    )
    wrong_email = await client.post(
        "/auth/token", data={"username": "nobody@example.com", "password": PASSWORD}
    )
    for response in (wrong_password, wrong_email):
        assert response.status_code == 401
        assert response.json() == {"detail": "incorrect email or password"}
        assert response.headers["www-authenticate"] == "Bearer"
    # An unknown email still costs a full Argon2 verification (against a dummy hash), so its
    # timing does not tell which emails exist.
    assert len(checked) == 2
    assert checked[0] is not None
    assert checked[1] is None


@pytest.mark.parametrize(
    "form",
    [{}, {"username": "a@example.com"}, {"password": PASSWORD}],
)
async def test_incomplete_login_forms(client: AsyncClient, form: dict) -> None:
    assert (await client.post("/auth/token", data=form)).status_code == 422


async def test_login_is_a_form_not_json(client: AsyncClient) -> None:
    response = await client.post("/auth/token", json={"username": "a@b.c", "password": PASSWORD})
    assert response.status_code == 422


# --- tokens ----------------------------------------------------------------------------------

Claims = dict[str, Any]


def _signed(claims: Claims) -> str:
    return jwt.encode(claims, TOKEN_KEY, algorithm=ALGORITHM)


def _changed(**changes: Any) -> Callable[[Claims], str]:
    """A token with the account's valid claims but these changed (None: left out)."""

    def make(claims: Claims) -> str:
        changed = claims | changes
        return _signed({k: v for k, v in changed.items() if v is not None})

    return make


def _constant(token: str) -> Callable[[Claims], str]:
    return lambda claims: token


# Each token is one valid token of the account's with one thing wrong, so a 401 is for that.
BAD_TOKENS: dict[str, Callable[[Claims], str]] = {
    "garbage": _constant("garbage"),
    "three-empty-parts": _constant("a.b.c"),
    "20k-characters": _constant("x" * 20_000),
    "expired": _changed(iat=int(time.time()) - 600, exp=int(time.time()) - 1),
    "no-expiry": _changed(exp=None),
    "no-issued-at": _changed(iat=None),
    "issued-yesterday-in-words": _changed(iat="yesterday"),
    "issued-far-in-the-future": _changed(iat=10**20),
    "no-subject": _changed(sub=None),
    "subject-not-a-number": _changed(sub="x"),
    "subject-unicode": _changed(sub="ünï"),
    "subject-1e3": _changed(sub="1e3"),
    "subject-negative": _changed(sub="-1"),
    "subject-zero": _changed(sub="0"),
    "subject-past-max-id": _changed(sub=str(MAX_ID + 1)),
    "subject-huge": _changed(sub=str(2**70)),
    "subject-as-int": _changed(sub=1),
    "no-version": _changed(ver=None),
    "version-moved-on": _changed(ver=1),
    "other-issuer": _changed(iss="someone-else"),
    "other-audience": _changed(aud="another-deployment"),
    "no-audience": _changed(aud=None),
    "other-secret": lambda claims: jwt.encode(
        claims, derive_key("another-secret-" + "y" * 32, "access tokens"), algorithm=ALGORITHM
    ),
    "raw-secret-not-the-derived-key": lambda claims: jwt.encode(
        claims, TOKEN_SECRET, algorithm=ALGORITHM
    ),
    "alg-none": lambda claims: jwt.encode(claims, key=None, algorithm="none"),
}


async def _valid_claims(client: AsyncClient, sign_up: SignUp) -> tuple[Claims, int]:
    account = await sign_up()
    token = account.headers["Authorization"].removeprefix("Bearer ")
    claims: Claims = jwt.decode(token, options={"verify_signature": False})
    return claims, account.id


async def test_the_token_checks_below_start_from_a_valid_token(
    client: AsyncClient, sign_up: SignUp
) -> None:
    claims, user_id = await _valid_claims(client, sign_up)
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {_signed(claims)}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user_id


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_bad_tokens_are_401(
    client: AsyncClient, sign_up: SignUp, make_token: Callable[[Claims], str]
) -> None:
    claims, _ = await _valid_claims(client, sign_up)
    token = make_token(claims)
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_repeated_failures_are_rate_limited(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    wrong = {"username": account.email, "password": "not the password"}
    statuses = [(await client.post("/auth/token", data=wrong)).status_code for _ in range(5)]
    assert statuses == [401] * 5
    limited = await client.post(
        "/auth/token", data={"username": account.email, "password": PASSWORD}
    )
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Another account from the same address is not blocked by this one.
    other = await sign_up()
    assert other.headers["Authorization"].startswith("Bearer ")
