import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

pytestmark = pytest.mark.anyio


async def test_invalid_unicode_is_a_422_not_a_500(client: AsyncClient) -> None:
    body = b'{"name": "\\ud800", "email": "a@example.com", "password": "12345678"}'
    response = await client.post(
        "/users", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert response.content.isascii()


async def test_a_nul_in_a_login_is_a_plain_failed_login(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/token", data={"username": "a\x00b@example.com", "password": "12345678"}
    )
    assert response.status_code == 401


async def test_a_value_the_database_refuses_is_a_4xx(app: FastAPI, client: AsyncClient) -> None:
    async def store_a_nul() -> None:
        raise asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence")

    app.add_api_route("/test-only/refused", store_a_nul, methods=["POST"])
    response = await client.post("/test-only/refused")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error"


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (
            asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
            503,
        ),
        (TimeoutError(), 503),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), 503),
        (ConnectionRefusedError(), 503),
    ],
)
async def test_database_trouble_is_503_with_retry_after(
    app: FastAPI, client: AsyncClient, exc: Exception, status: int
) -> None:
    async def fail() -> None:
        raise exc

    app.add_api_route("/test-only/fail", fail, methods=["GET"])
    response = await client.get("/test-only/fail")
    assert response.status_code == status
    assert response.headers["retry-after"] == "1"
    assert isinstance(response.json()["detail"], str)
