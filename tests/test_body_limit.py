from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from tests.conftest import SignUp

pytestmark = pytest.mark.anyio

LIMIT = 1024 * 1024


async def test_a_declared_body_over_the_limit_is_413(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    body = b'{"title": "t", "body": "' + b"x" * (2 * LIMIT) + b'"}'
    response = await client.post(
        "/blogs", content=body, headers=account.headers | {"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is too large"}
    page = await client.get("/blogs", params={"author_id": account.id})
    assert page.json()["items"] == []


async def test_a_streamed_body_is_cut_off_at_the_limit(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"title": "t", "body": "'
        for _ in range(64):
            sent += 64 * 1024
            yield b"x" * 64 * 1024
        yield b'"}'

    response = await client.post(
        "/blogs", content=chunks(), headers=account.headers | {"content-type": "application/json"}
    )
    assert response.status_code == 413
    # The app stopped reading soon after the limit, not at the end of the 4 MiB stream.
    assert sent < 2 * LIMIT


async def test_a_body_at_the_limit_is_read(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    response = await client.post(
        "/blogs",
        json={"title": "t", "body": "x" * 100_000},
        headers=account.headers,
    )
    assert response.status_code == 201
