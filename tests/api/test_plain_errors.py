"""Errors in plain words that say what to do, on both APIs, and in OpenAPI."""

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.api.routes.auth import FORM_EXPECTED
from service.models import PATTERN_RULES
from service.testing.accounts import PASSWORD, SignUp

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "a token is required: send the header `Authorization: Bearer <token>`"),
        ({"Authorization": "Token abc"}, "the Authorization header must be `Bearer <token>`"),
        ({"Authorization": "Bearer"}, "the Authorization header must be `Bearer <token>`"),
    ],
)
async def test_a_missing_or_wrong_authorization_says_which_header_to_send(
    client: AsyncClient, headers: dict[str, str], says: str
) -> None:
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith(says)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_json_sent_to_the_login_form_is_told_it_takes_a_form(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    response = await client.post(
        "/auth/token", json={"username": account.email, "password": PASSWORD}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"type": "form_expected", "loc": ["body"], "msg": FORM_EXPECTED}
    ]
    # The form itself still works.
    form = {"username": account.email, "password": PASSWORD}
    assert (await client.post("/auth/token", data=form)).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("email", "not an email", PATTERN_RULES[r"^[^@\s\x00]+@[^@\s\x00]+$"]),
        ("username", "no spaces", PATTERN_RULES[r"^[A-Za-z0-9_-]+$"]),
    ],
)
async def test_validation_says_what_is_allowed_not_a_regular_expression(
    client: AsyncClient, field: str, value: str, rule: str
) -> None:
    body = {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, field: value}
    response = await client.post("/users", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field] and error["msg"] == rule
    assert "ctx" not in error and "^" not in response.text
    api = {"user": {"username": "eve", "email": "eve@example.com", "password": PASSWORD}}
    api["user"][field] = value
    answer = await client.post("/api/users", json=api)
    assert answer.json() == {"errors": {"body": [f"user.{field}: {rule}"]}}


async def test_a_tag_that_is_not_allowed_is_told_so(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    body = {"title": "t", "body": "b", "tags": ["a,b"]}
    response = await client.post("/blogs", json=body, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "should have no comma and no control character"


async def test_a_missing_current_password_is_said_plainly(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    response = await client.patch(
        "/users/me", json={"password": "a new password"}, headers=account.headers
    )
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error == {
        "type": "value_error",
        "loc": ["body"],
        "msg": "current_password is required to change the email or password",
    }


async def test_openapi_says_which_header_to_send_and_that_the_login_takes_a_form(
    app: FastAPI,
) -> None:
    paths = app.openapi()["paths"]
    assert (
        "Authorization: Bearer <token>"
        in paths["/users/me"]["get"]["responses"]["401"]["description"]
    )
    assert (
        "Authorization: Token <token>"
        in paths["/api/user"]["get"]["responses"]["401"]["description"]
    )
    assert "not a form, is a 422" in paths["/auth/token"]["post"]["description"]
    assert "at most 20" in app.openapi()["info"]["description"]
