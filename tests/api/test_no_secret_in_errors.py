"""No body, of any shape or content type, on any route of either API, makes an answer repeat a
secret it carried; a body that is not a JSON object is told what to send, and nothing of it comes
back. Every route that takes a body is tried, as found in the app, so a new one is tried too."""

import json
import re
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.api.validation import MAX_ERRORS, NOT_AN_OBJECT
from service.testing.accounts import SignUp

pytestmark = pytest.mark.anyio

SECRET = "Sw0rdf1sh-never-echoed"
FIELDS = {"password": SECRET, "current_password": SECRET, "token": SECRET}
NATIVE = {"name": "Eve", "email": "eve@example.com", "title": "t", "body": "b", **FIELDS}
ENVELOPED = {"user": NATIVE, "article": NATIVE, "comment": NATIVE}

# (content type or None, raw body): the shapes a client gets wrong.
SHAPES: dict[str, tuple[str | None, bytes]] = {
    "json without a content type": (None, json.dumps(NATIVE).encode()),
    "json as text/plain": ("text/plain", json.dumps(NATIVE).encode()),
    "enveloped json as text/plain": ("text/plain", json.dumps(ENVELOPED).encode()),
    "a list": ("application/json", json.dumps([NATIVE]).encode()),
    "an enveloped list": ("application/json", json.dumps([ENVELOPED]).encode()),
    "a json string": ("application/json", json.dumps(json.dumps(NATIVE)).encode()),
    "an envelope holding a string": (
        "application/json",
        json.dumps({key: json.dumps(NATIVE) for key in ENVELOPED}).encode(),
    ),
    "an envelope holding a list": (
        "application/json",
        json.dumps({key: [NATIVE] for key in ENVELOPED}).encode(),
    ),
    "secrets at every depth": (
        "application/json",
        json.dumps({**NATIVE, "extra": {"deeper": [NATIVE]}, "user": {**NATIVE, "x": [NATIVE]}})
        .replace('"email": "eve@example.com"', '"email": 5')
        .encode(),
    ),
    "a form": ("application/x-www-form-urlencoded", f"name=Eve&password={SECRET}".encode()),
    "not utf-8": ("text/plain", b'{"password": "' + SECRET.encode() + b'\xff\xfe"}'),
    "not utf-8 json": ("application/json", b'{"password": "' + SECRET.encode() + b'\xff"}'),
}


def _body_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) whose OpenAPI operation takes a request body; path parameters 1."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return found


async def test_every_route_that_takes_a_body_is_tried(app: FastAPI) -> None:
    routes = _body_routes(app)
    assert ("POST", "/users") in routes and ("PUT", "/api/user") in routes
    assert ("POST", "/auth/token") in routes and ("DELETE", "/users/me") in routes
    assert len(routes) >= 13


@pytest.mark.parametrize("shape", SHAPES)
async def test_no_body_shape_makes_any_route_repeat_a_secret(
    app: FastAPI, client: AsyncClient, sign_up: SignUp, shape: str
) -> None:
    account = await sign_up()
    bearer = account.headers["Authorization"]
    content_type, content = SHAPES[shape]
    for method, path in _body_routes(app):
        headers = {"Authorization": bearer.replace("Bearer", "Token", 1)}
        if not path.startswith("/api/"):
            headers = {"Authorization": bearer}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = await client.request(method, path, content=content, headers=headers)
        where = f"{shape}: {method} {path}: {response.status_code} {response.text[:300]}"
        assert 400 <= response.status_code < 500, where
        assert SECRET not in response.text, where
        assert "Sw0rdf1sh" not in response.text, where


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/users", {}),
        ("/users", {"Content-Type": "text/plain"}),
        ("/api/users", {}),
        ("/api/users", {"Content-Type": "text/plain"}),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_told_what_to_send(
    client: AsyncClient, path: str, headers: dict[str, str]
) -> None:
    body = {"name": "Eve", "email": "e@example.com", "password": SECRET}
    if path.startswith("/api"):
        body = {"user": {"username": "eve", "email": "e@example.com", "password": SECRET}}
    for content in (json.dumps(body), json.dumps([body]), "", "password=" + SECRET):
        response = await client.post(path, content=content, headers=headers)
        assert response.status_code == 422, response.text
        assert SECRET not in response.text
        answer: Any = response.json()
        if path.startswith("/api"):
            # A list or a JSON body without its type is not the object; "" is no body at all.
            assert answer == {"errors": {"body": [f"body: {NOT_AN_OBJECT}"]}}, content
        else:
            assert answer["detail"] == [
                {"type": answer["detail"][0]["type"], "loc": ["body"], "msg": NOT_AN_OBJECT}
            ], content


async def test_a_body_that_is_not_utf_8_is_a_4xx_not_a_500(client: AsyncClient) -> None:
    for path in ("/users", "/api/users"):
        response = await client.post(
            path, content=b'{"name": "\xff\xfe"}', headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 422, response.text
        assert response.content.isascii()


@pytest.mark.parametrize(
    ("path", "envelope"), [("/users", None), ("/api/users", None), ("/api/users", "user")]
)
async def test_a_body_of_80000_unknown_keys_gets_one_short_error(
    client: AsyncClient, path: str, envelope: str | None
) -> None:
    fields: dict[str, Any] = {f"k{i}": 0 for i in range(80_000)}  # within the 1 MB limit
    body = {envelope: fields} if envelope else fields
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text[:300]
    # One error for the whole object, before its fields are looked at: a short answer.
    assert len(response.content) < 300, response.text[:300]
    assert "80000 unknown fields" in response.text


async def test_a_validation_error_list_is_capped(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    bad = {"name": "", "email": "x", "password": "1", "username": "a b", "bio": 5, "image": "ftp:"}
    body = bad | {"current_password": "x" * 200} | {f"unknown{i}": i for i in range(20)}
    response = await client.patch("/users/me", json=body, headers=account.headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert len(detail) == MAX_ERRORS + 1
    assert detail[-1]["type"] == "too_many_errors"
    assert detail[-1]["msg"].startswith(f"7 more errors not listed: at most {MAX_ERRORS} are")
