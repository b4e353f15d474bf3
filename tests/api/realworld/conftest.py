"""Fixtures for the RealWorld API's tests: users registered through POST /api/users."""

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD

# What the spec's clients accept as a timestamp: ISO 8601 with fractional seconds and a zone.
TIMESTAMP = re.compile(
    r"^\d{4,}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d+(?:[+-][0-2]\d:[0-5]\d|Z)$"
)


@dataclass
class Member:
    username: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


Register = Callable[..., Awaitable[Member]]


@pytest.fixture
def register(client: AsyncClient) -> Register:
    async def register(username: str | None = None) -> Member:
        username = username or f"u{uuid.uuid4().hex[:10]}"
        email = f"{username.lower()}@example.com"
        response = await client.post(
            "/api/users",
            json={"user": {"username": username, "email": email, "password": PASSWORD}},
        )
        assert response.status_code == 201, response.text
        return Member(username=username, email=email, token=response.json()["user"]["token"])

    return register


Write = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def write(client: AsyncClient) -> Write:
    """Create an article through POST /api/articles; the article as answered."""

    async def write(
        member: Member, title: str = "Hello", tags: list[str] | None = None, body: str = "b"
    ) -> dict[str, Any]:
        article = {"title": title, "description": "d", "body": body, "tagList": tags or []}
        response = await client.post(
            "/api/articles", json={"article": article}, headers=member.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["article"]
        return created

    return write


def assert_errors(response: Any, status: int) -> list[str]:
    """The response is `status` with the spec's error body; its messages."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"errors", "request_id"}
    assert list(body["errors"]) == ["body"]
    messages: list[str] = body["errors"]["body"]
    assert messages and all(isinstance(m, str) and m for m in messages)
    return messages
