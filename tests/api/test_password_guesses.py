"""Every check of a password counts against the login limits of that account from that address:
a stolen token does not give unlimited guesses of `current_password` (each one an Argon2
verification), on either API."""

from collections.abc import Awaitable, Callable

import httpx
import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD, Account, SignUp

pytestmark = pytest.mark.anyio

# settings_for keeps the default: 5 failures per account and address in a window.
PAIR_LIMIT = 5

Guess = Callable[[str], Awaitable[httpx.Response]]


def _native_guesses(client: AsyncClient, account: Account) -> dict[str, Guess]:
    async def patch(password: str) -> httpx.Response:
        body = {"email": f"new.{account.email}", "current_password": password}
        return await client.patch("/users/me", json=body, headers=account.headers)

    async def delete(password: str) -> httpx.Response:
        body = {"current_password": password}
        return await client.request("DELETE", "/users/me", json=body, headers=account.headers)

    return {"PATCH /users/me": patch, "DELETE /users/me": delete}


@pytest.mark.parametrize("route", ["PATCH /users/me", "DELETE /users/me"])
async def test_wrong_current_passwords_are_refused_past_the_login_limit(
    client: AsyncClient, sign_up: SignUp, route: str
) -> None:
    account = await sign_up()
    guess = _native_guesses(client, account)[route]
    for _ in range(PAIR_LIMIT):
        assert (await guess("wrong password")).status_code == 403
    refused = await guess("wrong password")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    # The same limits as logins: the account cannot log in from here either, for now.
    login = await client.post("/auth/token", data={"username": account.email, "password": PASSWORD})
    assert login.status_code == 429


async def test_a_right_current_password_takes_the_failures_back(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    guess = _native_guesses(client, account)["PATCH /users/me"]
    for _ in range(PAIR_LIMIT - 1):
        assert (await guess("wrong password")).status_code == 403
    body = {"bio": "still me", "password": "a new password", "current_password": PASSWORD}
    changed = await client.patch("/users/me", json=body, headers=account.headers)
    assert changed.status_code == 200, changed.text
    token = await client.post(
        "/auth/token", data={"username": account.email, "password": "a new password"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for _ in range(PAIR_LIMIT):
        body = {"email": f"new.{account.email}", "current_password": "wrong password"}
        response = await client.patch("/users/me", json=body, headers=headers)
        assert response.status_code == 403, response.text
