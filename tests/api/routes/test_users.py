import asyncio
from typing import cast

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service import users
from service.db.database import Connection
from service.errors import Conflict
from service.models import UserCreate
from service.passwords import PasswordHasher
from service.testing.accounts import PASSWORD, SignUp
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, fetchval
from tests.support.api import walk_pages
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio

SECRET_FIELDS = {"password", "password_hash"}


def _new_user(email: str = "ada@example.com", name: str = "Ada") -> dict[str, str]:
    return {"name": name, "email": email, "password": PASSWORD}


async def test_sign_up(client: AsyncClient) -> None:
    response = await client.post("/users", json=_new_user(email="  Ada@Example.COM "))
    assert response.status_code == 201
    body = response.json()
    assert body.keys() == {"id", "name", "username", "bio", "image", "email", "created_at"}
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada"
    # Derived from the name and id when not chosen.
    assert body["username"] == f"ada.{body['id']}"
    assert body["bio"] is None
    assert body["image"] is None


async def test_sign_up_with_a_username(client: AsyncClient) -> None:
    response = await client.post(
        "/users", json=_new_user(name="Ada Lovelace") | {"username": "  Ada_L-1815 "}
    )
    assert response.status_code == 201
    assert response.json()["username"] == "Ada_L-1815"
    me = (await client.get(f"/users/{response.json()['id']}")).json()
    assert me["username"] == "Ada_L-1815"


async def test_a_username_taken_in_any_letter_case_is_a_conflict(
    client: AsyncClient, raw: asyncpg.Connection
) -> None:
    first = await client.post("/users", json=_new_user() | {"username": "ada"})
    assert first.status_code == 201
    response = await client.post(
        "/users", json=_new_user(email="other@example.com") | {"username": "ADA"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "a user with this username already exists"}
    # The email's conflict is named first when both are taken.
    both = await client.post("/users", json=_new_user() | {"username": "aDa"})
    assert both.json() == {"detail": "a user with this email already exists"}
    assert await raw.fetchval("SELECT count(*) FROM users WHERE lower(username) = 'ada'") == 1


async def test_an_email_taken_in_any_letter_case_is_a_conflict(client: AsyncClient) -> None:
    assert (await client.post("/users", json=_new_user())).status_code == 201
    response = await client.post("/users", json=_new_user(email="ADA@example.com"))
    assert response.status_code == 409
    assert response.json() == {"detail": "a user with this email already exists"}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Ada", "email": "ada@example.com"},
        {"name": "   ", "email": "ada@example.com", "password": PASSWORD},
        {"name": "x" * 101, "email": "ada@example.com", "password": PASSWORD},
        {"name": "Ada", "email": "not-an-email", "password": PASSWORD},
        {"name": "Ada", "email": "ada@example.com", "password": "short"},
        {"name": "Ada", "email": "ada@example.com", "password": "p" * 129},
        {"name": "A\x00da", "email": "ada@example.com", "password": PASSWORD},
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "admin": True},
        # A '.' is only in the usernames made for those who chose none.
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "username": "ada.7"},
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "username": ""},
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "username": "a b"},
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "username": "é"},
        {"name": "Ada", "email": "ada@example.com", "password": PASSWORD, "username": "a" * 41},
    ],
)
async def test_invalid_sign_ups_are_rejected(client: AsyncClient, body: dict) -> None:
    response = await client.post("/users", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_no_response_contains_a_password_or_its_hash(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    responses = [
        await client.get("/users/me", headers=account.headers),
        await client.get(f"/users/{account.id}"),
        await client.get("/users"),
        await client.patch("/users/me", json={"name": "Bea"}, headers=account.headers),
    ]
    for response in responses:
        assert response.status_code == 200
        assert PASSWORD not in response.text
        assert "argon2" not in response.text
        assert not SECRET_FIELDS & set(response.text.replace('"', " ").split())


async def test_me(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    response = await client.get("/users/me", headers=account.headers)
    assert response.status_code == 200
    assert response.json()["id"] == account.id
    assert response.json()["email"] == account.email


async def test_me_needs_a_token(client: AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eA=="}):
        response = await client.get("/users/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_change_name(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    response = await client.patch("/users/me", json={"name": "  Bea  "}, headers=account.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Bea"
    assert (await client.get(f"/users/{account.id}")).json()["name"] == "Bea"


async def test_change_password(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    new = "a brand new password"
    response = await client.patch(
        "/users/me", json={"password": new, "current_password": PASSWORD}, headers=account.headers
    )
    assert response.status_code == 200
    old_login = await client.post(
        "/auth/token", data={"username": account.email, "password": PASSWORD}
    )
    new_login = await client.post("/auth/token", data={"username": account.email, "password": new})
    assert old_login.status_code == 401
    assert new_login.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_password": PASSWORD},
        {"name": None},
        {"password": None},
        {"name": ""},
        {"email": "x@example.com"},
        {"username": None},
        {"username": "ada.1"},
        {"bio": "x" * 1001},
        {"bio": "a\x00b"},
        {"image": "ftp://example.com/a.png"},
        {"image": "https://example.com/" + "a" * 2000},
        {"image": ""},
    ],
)
async def test_invalid_changes_are_rejected(
    client: AsyncClient, sign_up: SignUp, body: dict
) -> None:
    account = await sign_up(name="Ada")
    before = (await client.get("/users/me", headers=account.headers)).json()
    response = await client.patch("/users/me", json=body, headers=account.headers)
    assert response.status_code == 422
    assert (await client.get("/users/me", headers=account.headers)).json() == before


async def test_an_empty_change_names_every_field(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    response = await client.patch("/users/me", json={}, headers=account.headers)
    assert response.status_code == 422
    assert "send at least one of: name, email, password, username, bio, image" in response.text


async def test_change_username_bio_and_image(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    changes = {"username": "Countess", "bio": "Notes on the engine.", "image": "https://x.org/a"}
    response = await client.patch("/users/me", json=changes, headers=account.headers)
    assert response.status_code == 200
    assert {key: response.json()[key] for key in changes} == changes
    public = (await client.get(f"/users/{account.id}")).json()
    assert {key: public[key] for key in changes} == changes

    # null clears the bio and the image; what is not sent stays.
    cleared = await client.patch(
        "/users/me", json={"bio": None, "image": None}, headers=account.headers
    )
    assert cleared.status_code == 200
    assert (cleared.json()["username"], cleared.json()["bio"], cleared.json()["image"]) == (
        "Countess",
        None,
        None,
    )
    # A change of letter case alone is no conflict with oneself.
    recased = await client.patch(
        "/users/me", json={"username": "COUNTESS"}, headers=account.headers
    )
    assert recased.status_code == 200
    assert recased.json()["username"] == "COUNTESS"


async def test_changing_to_a_taken_username_is_a_conflict(
    client: AsyncClient, sign_up: SignUp
) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    await client.patch("/users/me", json={"username": "Ada"}, headers=ada.headers)
    before = (await client.get("/users/me", headers=bea.headers)).json()
    for username in ("ada", "ADA", "Ada"):
        response = await client.patch(
            "/users/me", json={"username": username, "bio": "mine"}, headers=bea.headers
        )
        assert response.status_code == 409
        assert response.json() == {"detail": "a user with this username already exists"}
    assert (await client.get("/users/me", headers=bea.headers)).json() == before


async def test_delete_me_takes_my_blogs_and_my_token(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    other = await sign_up()
    mine = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=account.headers)
    theirs = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=other.headers)

    response = await client.request(
        "DELETE", "/users/me", json={"current_password": PASSWORD}, headers=account.headers
    )
    assert response.status_code == 204
    assert response.content == b""

    assert (await client.get(f"/blogs/{mine.json()['id']}")).status_code == 404
    assert (await client.get(f"/blogs/{theirs.json()['id']}")).status_code == 200
    assert (await client.get(f"/users/{account.id}")).status_code == 404
    stale = await client.get("/users/me", headers=account.headers)
    assert stale.status_code == 401
    assert stale.headers["www-authenticate"] == "Bearer"


async def test_public_profile(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    response = await client.get(f"/users/{account.id}")
    assert response.status_code == 200
    assert response.json().keys() == {
        "id",
        "name",
        "username",
        "bio",
        "image",
        "created_at",
        "following",
    }
    assert response.json()["name"] == "Ada"
    assert response.json()["following"] is False


async def test_an_unknown_user_is_404(client: AsyncClient) -> None:
    # Ids out of range are 422: tests/api/test_parameters.py.
    response = await client.get("/users/999999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "user not found"}


async def test_list_users_walks_every_user_once_in_order(client: AsyncClient, db) -> None:
    raw = await db.raw()
    await raw.execute(
        "INSERT INTO users (name, email, password_hash) "
        "SELECT 'user ' || n, 'walk' || n || '@example.com', 'x' FROM generate_series(1, 250) n"
    )
    expected = [r["id"] for r in await raw.fetch("SELECT id FROM users ORDER BY id")]

    users, pages = await walk_pages(client, "/users", limit=37)
    assert [user["id"] for user in users] == expected
    assert pages == -(-len(expected) // 37)


@pytest.mark.parametrize(
    "params",
    # Page sizes out of range: tests/api/test_parameters.py.
    [{"cursor": "garbage"}, {"cursor": "a.b"}],
)
async def test_invalid_user_pages(client: AsyncClient, params: dict) -> None:
    response = await client.get("/users", params=params)
    assert response.status_code == 422


async def test_a_blog_cursor_is_not_a_user_cursor(client: AsyncClient, app: FastAPI) -> None:
    cursor = app.state.cursors.encode(1, 2)
    response = await client.get("/users", params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


async def test_a_user_s_blogs(client: AsyncClient, sign_up: SignUp) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    for n in range(3):
        await client.post("/blogs", json={"title": f"ada {n}", "body": "b"}, headers=ada.headers)
    await client.post("/blogs", json={"title": "bea", "body": "b"}, headers=bea.headers)

    response = await client.get(f"/users/{ada.id}/blogs")
    assert response.status_code == 200
    page = response.json()
    assert [blog["title"] for blog in page["items"]] == ["ada 2", "ada 1", "ada 0"]
    assert {blog["owner"]["id"] for blog in page["items"]} == {ada.id}
    assert page["next_cursor"] is None


async def test_a_user_without_blogs_has_an_empty_page(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    response = await client.get(f"/users/{account.id}/blogs")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_blogs_of_an_unknown_user(client: AsyncClient) -> None:
    response = await client.get("/users/999999999/blogs")
    assert response.status_code == 404
    assert response.json() == {"detail": "user not found"}


async def test_concurrent_sign_ups_with_one_email_create_one_user(
    scratch_database: ScratchDatabase,
) -> None:
    # Real commits: a database of its own, since the rollback fixture shares one connection.
    url = await scratch_database()
    # All 50 come from one address: allow that many sign-ups from it.
    settings = settings_for(url, signup_max_per_address=50)
    async with in_process(url, settings=settings, min_size=10, max_size=10) as client:
        emails = [f"{'SaMe' if n % 2 else 'same'}@example.com" for n in range(50)]
        responses = await asyncio.gather(
            *(client.post("/users", json=_new_user(email=email)) for email in emails)
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 49
    assert await fetchval(url, "SELECT count(*) FROM users") == 1


async def test_concurrent_sign_ups_with_one_username_create_one_user(
    scratch_database: ScratchDatabase,
) -> None:
    # Most pass the check before any has inserted, hash, and meet on the unique index.
    url = await scratch_database()
    settings = settings_for(url, signup_max_per_address=20)
    async with in_process(url, settings=settings, min_size=10, max_size=10) as client:
        bodies = [
            _new_user(email=f"user{n}@example.com") | {"username": "SaMe" if n % 2 else "same"}
            for n in range(20)
        ]
        responses = await asyncio.gather(*(client.post("/users", json=body) for body in bodies))
    assert sorted(response.status_code for response in responses) == [201] + [409] * 19
    conflicts = {response.json()["detail"] for response in responses if response.status_code == 409}
    assert conflicts == {"a user with this username already exists"}
    assert await fetchval(url, "SELECT count(*) FROM users") == 1


async def test_a_username_taken_while_the_password_is_hashed_is_a_conflict(
    db: Connection, raw: asyncpg.Connection, app: FastAPI
) -> None:
    hasher: PasswordHasher = app.state.hasher

    class Racing:
        """Another sign-up takes the username while this one hashes its password."""

        async def hash(self, password: str) -> str:
            await raw.execute(
                "INSERT INTO users (name, email, password_hash, username) "
                "VALUES ('Other', 'other@example.com', 'x', 'Taken')"
            )
            return await hasher.hash(password)

    data = UserCreate(name="Ada", email="ada@example.com", password=PASSWORD, username="TAKEN")
    with pytest.raises(Conflict, match="a user with this username already exists"):
        await users.create_user(db=db, hasher=cast(PasswordHasher, Racing()), data=data)
    assert await raw.fetchval("SELECT count(*) FROM users WHERE email = 'ada@example.com'") == 0


async def test_a_password_change_revokes_older_tokens(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    other_device = await client.post(
        "/auth/token", data={"username": account.email, "password": PASSWORD}
    )
    old = {"Authorization": f"Bearer {other_device.json()['access_token']}"}
    changed = await client.patch(
        "/users/me",
        json={"password": "the new password", "current_password": PASSWORD},
        headers=account.headers,
    )
    assert changed.status_code == 200
    for headers in (old, account.headers):
        response = await client.get("/users/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    login = await client.post(
        "/auth/token", data={"username": account.email, "password": "the new password"}
    )
    new = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get("/users/me", headers=new)).status_code == 200


async def test_a_name_change_keeps_tokens(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    await client.patch("/users/me", json={"name": "Bea"}, headers=account.headers)
    assert (await client.get("/users/me", headers=account.headers)).status_code == 200
