"""POST /api/users, POST /api/users/login, GET and PUT /api/user."""

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD
from tests.api.realworld.conftest import Register, assert_errors

pytestmark = pytest.mark.anyio

USER_FIELDS = {"email", "token", "username", "bio", "image"}


async def test_register_answers_the_user_with_a_token(client: AsyncClient) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "Jake", "email": "Jake@Example.com", "password": PASSWORD}},
    )
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert set(user) == USER_FIELDS
    assert (user["username"], user["email"], user["bio"], user["image"]) == (
        "Jake",
        "jake@example.com",
        None,
        None,
    )
    me = await client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "Jake"


@pytest.mark.parametrize(
    "user",
    [
        {"email": "a@example.com", "password": PASSWORD},
        {"username": "x", "email": "not-an-email", "password": PASSWORD},
        {"username": "x", "email": "a@example.com", "password": "short"},
        {"username": "has space", "email": "a@example.com", "password": PASSWORD},
    ],
)
async def test_register_refuses_invalid_bodies_with_422(client: AsyncClient, user: dict) -> None:
    messages = assert_errors(await client.post("/api/users", json={"user": user}), 422)
    assert all("correct horse" not in m for m in messages)


async def test_a_body_without_the_envelope_is_a_422(client: AsyncClient) -> None:
    response = await client.post(
        "/api/users", json={"username": "x", "email": "a@example.com", "password": PASSWORD}
    )
    assert any(m.startswith("user:") for m in assert_errors(response, 422))


async def test_a_taken_username_or_email_is_a_422(client: AsyncClient, register: Register) -> None:
    taken = await register("Taken")
    for user in (
        {"username": "TAKEN", "email": "other@example.com", "password": PASSWORD},
        {"username": "other", "email": taken.email.upper(), "password": PASSWORD},
    ):
        response = await client.post("/api/users", json={"user": user})
        assert assert_errors(response, 422) == [
            "a user with this "
            + ("username" if user["username"] == "TAKEN" else "email")
            + " already exists"
        ]


async def test_login_answers_the_user_with_a_token(client: AsyncClient, register: Register) -> None:
    member = await register()
    response = await client.post(
        "/api/users/login", json={"user": {"email": member.email.upper(), "password": PASSWORD}}
    )
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert set(user) == USER_FIELDS
    assert user["username"] == member.username
    me = await client.get("/api/user", headers={"Authorization": f"Token {user['token']}"})
    assert me.json()["user"]["token"] == user["token"]


async def test_a_wrong_password_is_a_401(client: AsyncClient, register: Register) -> None:
    member = await register()
    for email, password in ((member.email, "wrong password"), ("nobody@example.com", PASSWORD)):
        response = await client.post(
            "/api/users/login", json={"user": {"email": email, "password": password}}
        )
        assert assert_errors(response, 401) == ["incorrect email or password"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token"},
        {"Authorization": "Token not.a.jwt"},
        {"Authorization": "Basic abc"},
    ],
    ids=["none", "empty", "bad-token", "other-scheme"],
)
async def test_the_current_user_needs_a_good_token(client: AsyncClient, headers: dict) -> None:
    response = await client.get("/api/user", headers=headers)
    assert_errors(response, 401)
    assert response.headers["www-authenticate"] == "Token"


async def test_a_bearer_token_works_too(client: AsyncClient, register: Register) -> None:
    member = await register()
    response = await client.get("/api/user", headers={"Authorization": f"Bearer {member.token}"})
    assert response.status_code == 200


async def test_update_changes_only_what_is_sent(client: AsyncClient, register: Register) -> None:
    member = await register()
    response = await client.put(
        "/api/user",
        json={"user": {"bio": "I work at statefarm", "image": "https://example.com/a.png"}},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert (user["bio"], user["image"], user["username"], user["email"]) == (
        "I work at statefarm",
        "https://example.com/a.png",
        member.username,
        member.email,
    )
    assert user["token"] == member.token
    cleared = await client.put(
        "/api/user", json={"user": {"bio": None, "image": ""}}, headers=member.headers
    )
    assert (cleared.json()["user"]["bio"], cleared.json()["user"]["image"]) == (None, None)
    renamed = await client.put(
        "/api/user", json={"user": {"username": "renamed"}}, headers=member.headers
    )
    assert renamed.json()["user"]["username"] == "renamed"
    me = await client.get("/api/user", headers=member.headers)
    assert me.json()["user"]["username"] == "renamed"


async def test_the_same_email_needs_no_password(client: AsyncClient, register: Register) -> None:
    # What the Postman collection sends: the email as it is.
    member = await register()
    response = await client.put(
        "/api/user", json={"user": {"email": member.email.upper()}}, headers=member.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == member.email


async def test_a_new_email_or_password_needs_the_current_password(
    client: AsyncClient, register: Register
) -> None:
    member = await register()
    for change in ({"email": "new@example.com"}, {"password": "a new password"}):
        response = await client.put("/api/user", json={"user": change}, headers=member.headers)
        [message] = assert_errors(response, 422)
        assert "current_password is required" in message
        wrong = await client.put(
            "/api/user",
            json={"user": change | {"current_password": "not it at all"}},
            headers=member.headers,
        )
        assert assert_errors(wrong, 403) == ["the current password is not right"]
    moved = await client.put(
        "/api/user",
        json={"user": {"email": "new@example.com", "current_password": PASSWORD}},
        headers=member.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["user"]["email"] == "new@example.com"


async def test_a_new_password_answers_a_new_token(client: AsyncClient, register: Register) -> None:
    member = await register()
    response = await client.put(
        "/api/user",
        json={"user": {"password": "a new password", "current_password": PASSWORD}},
        headers=member.headers,
    )
    assert response.status_code == 200, response.text
    token = response.json()["user"]["token"]
    assert token != member.token
    assert (await client.get("/api/user", headers=member.headers)).status_code == 401
    fresh = await client.get("/api/user", headers={"Authorization": f"Token {token}"})
    assert fresh.status_code == 200
    login = await client.post(
        "/api/users/login", json={"user": {"email": member.email, "password": "a new password"}}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    "user", [{}, {"current_password": PASSWORD}, {"image": "not a url"}, {"username": None}]
)
async def test_invalid_updates_are_422(client: AsyncClient, register: Register, user: dict) -> None:
    member = await register()
    assert_errors(await client.put("/api/user", json={"user": user}, headers=member.headers), 422)


async def test_update_needs_a_token(client: AsyncClient) -> None:
    assert_errors(await client.put("/api/user", json={"user": {"bio": "x"}}), 401)
