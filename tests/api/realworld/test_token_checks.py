"""A token from before a password change cannot write under /api, as natively (the native and
shared checks: tests/api/test_token_checks.py)."""

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD
from tests.api.realworld.conftest import Register, Write

pytestmark = pytest.mark.anyio


async def test_a_revoked_token_cannot_favorite_under_api(
    client: AsyncClient, register: Register, write: Write
) -> None:
    author, reader = await register(), await register()
    slug = (await write(author))["slug"]
    change = {"user": {"password": "a brand new password", "current_password": PASSWORD}}
    changed = await client.put("/api/user", json=change, headers=reader.headers)
    assert changed.status_code == 200, changed.text
    for method in ("POST", "DELETE"):
        response = await client.request(
            method, f"/api/articles/{slug}/favorite", headers=reader.headers
        )
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Token"
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 0
