import asyncio
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD, SignUp
from service.testing.databases import ScratchDatabase
from tests.support.servers import serving

pytestmark = pytest.mark.anyio

LIMIT = 1024 * 1024
TOO_LARGE = {"detail": "the request body is too large"}


async def test_a_declared_body_over_the_limit_is_413(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    body = b'{"title": "t", "body": "' + b"x" * (2 * LIMIT) + b'"}'
    response = await client.post(
        "/blogs", content=body, headers=account.headers | {"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    page = await client.get("/blogs", params={"author_id": account.id})
    assert page.json()["items"] == []


async def test_bodies_over_the_limit_are_413_on_every_endpoint_that_reads_one(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    big = "x" * (2 * LIMIT)
    responses = [
        await client.post("/blogs", json={"title": "t", "body": big}, headers=account.headers),
        await client.post("/users", json={"name": big, "email": "a@b.c", "password": PASSWORD}),
        await client.post("/auth/token", data={"username": big, "password": PASSWORD}),
        await client.patch("/users/me", json={"name": big}, headers=account.headers),
    ]
    assert [r.status_code for r in responses] == [413] * 4
    assert [r.json() for r in responses] == [TOO_LARGE] * 4
    page = await client.get("/blogs", params={"author_id": account.id})
    assert page.json()["items"] == []
    me = await client.get("/users/me", headers=account.headers)
    assert me.json()["name"] == account.name


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


async def test_a_real_server_refuses_a_declared_oversized_body_before_it_is_sent(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with serving(url, DB_POOL_MIN_SIZE="0") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            # 2 MiB declared, 1 KB sent: the answer comes without waiting for the rest.
            writer.write(
                b"POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2097152\r\n\r\n" + b'{"name": "' + b"x" * 1000
            )
            await writer.drain()
            async with asyncio.timeout(5):
                status_line = await reader.readline()
        finally:
            writer.close()
            await writer.wait_closed()
        assert status_line.split()[1:2] == [b"413"], status_line
