from datetime import timedelta

import jwt
import pytest
from httpx import AsyncClient

from service import security
from service.security import create_access_token
from tests.conftest import PASSWORD, TOKEN_SECRET, SignUp

pytestmark = pytest.mark.anyio


async def test_log_in(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    response = await client.post(
        "/auth/token", data={"username": f"  {account.email.upper()} ", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    claims = jwt.decode(body["access_token"], TOKEN_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(account.id)
    assert claims["exp"] > claims["iat"]
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == account.id


async def test_wrong_email_and_wrong_password_look_the_same(
    client: AsyncClient, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await sign_up()
    checked: list[str | None] = []
    verify = security.verify_password

    async def spy(password: str, password_hash: str | None) -> bool:
        checked.append(password_hash)
        return await verify(password, password_hash)

    monkeypatch.setattr("service.users.verify_password", spy)
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


@pytest.mark.parametrize(
    "make_token",
    [
        lambda user_id: create_access_token(
            user_id=user_id, secret=TOKEN_SECRET, expires_in=timedelta(seconds=-1)
        ),
        lambda user_id: create_access_token(
            user_id=user_id, secret="another secret" * 3, expires_in=timedelta(minutes=5)
        ),
        lambda user_id: jwt.encode({"sub": str(user_id)}, TOKEN_SECRET, algorithm="HS256"),
        lambda user_id: jwt.encode(
            {"sub": "x", "iat": 0, "exp": 2**40}, TOKEN_SECRET, algorithm="HS256"
        ),
        lambda user_id: jwt.encode(
            {"sub": str(2**70), "iat": 0, "exp": 2**40}, TOKEN_SECRET, algorithm="HS256"
        ),
        lambda user_id: jwt.encode(
            {"sub": str(user_id), "iat": 0, "exp": 2**40}, "", algorithm="none"
        ),
    ],
    ids=["expired", "other-secret", "no-expiry", "bad-subject", "huge-subject", "alg-none"],
)
async def test_bad_tokens_are_401(client: AsyncClient, sign_up: SignUp, make_token) -> None:
    account = await sign_up()
    token = make_token(account.id)
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
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
