"""Errors as HTTP answers: domain errors by their status, invalid input as a 422 that is safe to
encode, and anything unexpected as a JSON 500. Hostile input of every kind is a 4xx, never a 500.
"""

from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.errors import DatabaseUnavailable
from service.testing.accounts import PASSWORD, SignUp
from tests.support.api import write_blog

pytestmark = pytest.mark.anyio

Request = Callable[[], Awaitable[httpx.Response]]


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


async def test_an_unexpected_exception_is_a_json_500(app: FastAPI, lenient: AsyncClient) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug, with details the client must not see")

    app.add_api_route("/test-only/broken", broken, methods=["GET"])
    response = await lenient.get("/test-only/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"] == "internal server error"
    assert "details" not in response.text


async def test_database_unavailable_is_503_with_retry_after(
    app: FastAPI, client: AsyncClient
) -> None:
    async def fail() -> None:
        raise DatabaseUnavailable("the database is busy; try again")

    app.add_api_route("/test-only/unavailable", fail, methods=["GET"])
    response = await client.get("/test-only/unavailable")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["detail"] == "the database is busy; try again"


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        TimeoutError(),
        ConnectionRefusedError(),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_database_errors_raised_outside_a_database_call_are_not_taken_for_unavailability(
    app: FastAPI, lenient: AsyncClient, exc: Exception
) -> None:
    # Only a database call turns these into DatabaseUnavailable (tests/db/test_database.py);
    # no global handler guesses, so the same exception from anywhere else is a plain 500.
    async def fail() -> None:
        raise exc

    app.add_api_route("/test-only/fail", fail, methods=["GET"])
    response = await lenient.get("/test-only/fail")
    assert response.status_code == 500
    assert response.json()["detail"] == "internal server error"
    assert "retry-after" not in response.headers


# --- hostile input ---------------------------------------------------------------------------


async def test_nul_characters_are_refused_with_4xx(lenient: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    blog_id = (await write_blog(lenient, account.headers))["id"]
    nul = "a\x00b"
    attempts: dict[str, Request] = {
        "sign-up name": lambda: lenient.post(
            "/users", json={"name": nul, "email": "nul@example.com", "password": PASSWORD}
        ),
        "sign-up email": lambda: lenient.post(
            "/users", json={"name": "n", "email": f"{nul}@example.com", "password": PASSWORD}
        ),
        "blog title": lambda: lenient.post(
            "/blogs", json={"title": nul, "body": "b"}, headers=account.headers
        ),
        "blog body": lambda: lenient.post(
            "/blogs", json={"title": "t", "body": nul}, headers=account.headers
        ),
        "edited title": lambda: lenient.patch(
            f"/blogs/{blog_id}", json={"title": nul}, headers=account.headers
        ),
        "new name": lambda: lenient.patch("/users/me", json={"name": nul}, headers=account.headers),
        "new email": lambda: lenient.patch(
            "/users/me",
            json={"email": f"{nul}@example.com", "current_password": PASSWORD},
            headers=account.headers,
        ),
        "q": lambda: lenient.get("/blogs", params={"q": nul}),
        "cursor": lambda: lenient.get("/blogs", params={"cursor": nul}),
        "login email": lambda: lenient.post(
            "/auth/token", data={"username": f"{nul}@example.com", "password": PASSWORD}
        ),
        "login password": lambda: lenient.post(
            "/auth/token", data={"username": "x@example.com", "password": nul * 4}
        ),
    }
    statuses = {what: (await request()).status_code for what, request in attempts.items()}
    assert {what: code for what, code in statuses.items() if not 400 <= code < 500} == {}


INVALID_UTF8 = [
    ("/users", "application/json", b'{"name": "\xff\xfe", "email": "a@b.c", "password": "p"}'),
    ("/blogs", "application/json", b'{"title": "\xc3\x28", "body": "b"}'),
    ("/auth/token", "application/x-www-form-urlencoded", b"username=\xff\xfe&password=pw"),
    ("/auth/token", "application/x-www-form-urlencoded", b"username=%ff%fe&password=%c3%28"),
    # Valid UTF-8 JSON, but escapes of lone surrogates: no valid Unicode string holds them.
    ("/blogs", "application/json", b'{"title": "a\\ud800b", "body": "b"}'),
    (
        "/users",
        "application/json",
        b'{"name": "n", "email": "a@b.c", "password": "\\udfff1234567"}',
    ),
]

NESTED_JSON = [
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b', "body": "b"}',
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


async def test_invalid_utf8_and_deeply_nested_bodies_are_4xx(
    lenient: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    sent = [*INVALID_UTF8]
    sent += [
        (path, "application/json", body) for body in NESTED_JSON for path in ("/blogs", "/users")
    ]
    wrong = {}
    for path, content_type, body in sent:
        response = await lenient.post(
            path, content=body, headers=account.headers | {"content-type": content_type}
        )
        if not 400 <= response.status_code < 500:
            wrong[(path, body[:40])] = (response.status_code, response.text[:200])
    assert not wrong, wrong
