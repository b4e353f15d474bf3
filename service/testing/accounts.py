"""Users signed up and logged in through the API: a user and a bearer token in one call."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from httpx import AsyncClient

PASSWORD = "correct horse battery"  # noqa: S105 (test accounts only)
"""The password every account made here has."""


@dataclass
class Account:
    id: int
    name: str
    email: str
    headers: dict[str, str]
    """`Authorization: Bearer <token>`, to send with the account's requests."""


SignUp = Callable[..., Awaitable[Account]]
"""The `sign_up` fixture: `await sign_up("Ada")` (an email is made up unless given)."""


async def sign_up_with(client: AsyncClient, name: str = "Ada", email: str | None = None) -> Account:
    """Create a user through the API (POST /users) and log them in (POST /auth/token)."""
    email = email or f"{uuid.uuid4().hex[:12]}@example.com"
    created = await client.post("/users", json={"name": name, "email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(
        id=created.json()["id"],
        name=name,
        email=email,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
