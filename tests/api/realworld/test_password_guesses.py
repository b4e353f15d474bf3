"""`current_password` under /api counts against the login limits, as natively
(tests/api/test_password_guesses.py)."""

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD
from tests.api.realworld.conftest import Register

pytestmark = pytest.mark.anyio

PAIR_LIMIT = 5


async def test_wrong_current_passwords_under_api_are_refused_past_the_login_limit(
    client: AsyncClient, register: Register
) -> None:
    member = await register()
    body = {"user": {"email": f"new.{member.email}", "current_password": "wrong password"}}
    for _ in range(PAIR_LIMIT):
        response = await client.put("/api/user", json=body, headers=member.headers)
        assert response.status_code == 403, response.text
    refused = await client.put("/api/user", json=body, headers=member.headers)
    assert refused.status_code == 429, refused.text
    login = {"user": {"email": member.email, "password": PASSWORD}}
    assert (await client.post("/api/users/login", json=login)).status_code == 429
