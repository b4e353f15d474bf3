"""Following users: POST and DELETE /users/{id}/follow, and `following` in what the reader sees."""

import asyncio
from typing import Any

import asyncpg
import pytest
from httpx import AsyncClient

from service import users
from service.db import queries
from service.db.database import Connection
from service.errors import NotFound
from service.models import MAX_FOLLOWS
from service.testing.accounts import PASSWORD, Account, SignUp, sign_up_with
from service.testing.databases import ScratchDatabase, connect, fetchval
from service.testing.statements import statements_run
from service.tokens import TokenClaims
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio

PUBLIC_FIELDS = {"id", "name", "username", "bio", "image", "created_at", "following"}


async def _follows(raw: asyncpg.Connection) -> list[tuple[int, int]]:
    rows = await raw.fetch("SELECT follower_id, followed_id FROM follows ORDER BY 1, 2")
    return [(row["follower_id"], row["followed_id"]) for row in rows]


async def _following(client: AsyncClient, user_id: int, headers: dict[str, str]) -> bool:
    """Whether the reader of `headers` follows the user, by GET /users/{id}."""
    response = await client.get(f"/users/{user_id}", headers=headers)
    assert response.status_code == 200, response.text
    following: bool = response.json()["following"]
    return following


async def _listed(client: AsyncClient, headers: dict[str, str], *ids: int) -> dict[int, bool]:
    """`following` of these users (on the first page) in GET /users, by id."""
    response = await client.get("/users", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return {user["id"]: user["following"] for user in response.json()["items"] if user["id"] in ids}


async def test_follow_and_unfollow(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea, cat = await sign_up(name="Ada"), await sign_up(name="Bea"), await sign_up(name="Cat")

    followed = await client.post(f"/users/{bea.id}/follow", headers=ada.headers)
    assert followed.status_code == 200
    body = followed.json()
    assert body.keys() == PUBLIC_FIELDS
    assert (body["id"], body["name"], body["username"], body["following"]) == (
        bea.id,
        "Bea",
        f"bea.{bea.id}",
        True,
    )
    assert await _follows(raw) == [(ada.id, bea.id)]

    # Only for the follower, and one way.
    assert await _following(client, bea.id, ada.headers) is True
    assert await _following(client, bea.id, {}) is False
    assert await _following(client, bea.id, cat.headers) is False
    assert await _following(client, ada.id, bea.headers) is False
    ids = (ada.id, bea.id, cat.id)
    assert await _listed(client, ada.headers, *ids) == {ada.id: False, bea.id: True, cat.id: False}
    assert await _listed(client, {}, *ids) == {ada.id: False, bea.id: False, cat.id: False}
    assert await _listed(client, bea.headers, *ids) == {ada.id: False, bea.id: False, cat.id: False}

    unfollowed = await client.delete(f"/users/{bea.id}/follow", headers=ada.headers)
    assert unfollowed.status_code == 200
    assert unfollowed.json() == body | {"following": False}
    assert await _follows(raw) == []
    assert await _following(client, bea.id, ada.headers) is False

    # And again.
    assert (await client.post(f"/users/{bea.id}/follow", headers=ada.headers)).status_code == 200
    assert await _following(client, bea.id, ada.headers) is True


async def _login(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_a_token_from_before_a_password_change_reads_as_anonymous(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    assert (await client.post(f"/users/{bea.id}/follow", headers=ada.headers)).status_code == 200
    changed = await client.patch(
        "/users/me",
        json={"password": "a brand new password", "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert changed.status_code == 200

    stale = ada.headers
    assert await _following(client, bea.id, stale) is False
    assert await _listed(client, stale, ada.id, bea.id) == {ada.id: False, bea.id: False}
    # ... but cannot follow or unfollow: those need the user.
    for method in ("POST", "DELETE"):
        response = await client.request(method, f"/users/{bea.id}/follow", headers=stale)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert await _follows(raw) == [(ada.id, bea.id)]

    fresh = await _login(client, ada.email, "a brand new password")
    assert await _following(client, bea.id, fresh) is True


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_following_needs_a_token(client: AsyncClient, sign_up: SignUp, method: str) -> None:
    bea = await sign_up(name="Bea")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.request(method, f"/users/{bea.id}/follow", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_a_bad_token_on_a_read_is_401(client: AsyncClient, sign_up: SignUp) -> None:
    bea = await sign_up(name="Bea")
    bad = {"Authorization": "Bearer not-a-token"}
    for path in (f"/users/{bea.id}", "/users"):
        assert (await client.get(path, headers=bad)).status_code == 401


async def test_refusals_change_nothing(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea, cat = await sign_up(name="Ada"), await sign_up(name="Bea"), await sign_up(name="Cat")
    assert (await client.post(f"/users/{bea.id}/follow", headers=ada.headers)).status_code == 200
    before = await _follows(raw)
    unknown = 999_999_999

    async def refused(method: str, account: Account, user_id: int) -> tuple[int, Any]:
        response = await client.request(method, f"/users/{user_id}/follow", headers=account.headers)
        return response.status_code, response.json()["detail"]

    assert await refused("POST", ada, unknown) == (404, "user not found")
    assert await refused("POST", ada, bea.id) == (409, "you already follow this user")
    assert await refused("DELETE", ada, unknown) == (404, "user not found")
    assert await refused("DELETE", ada, cat.id) == (404, "you do not follow this user")
    assert await refused("DELETE", bea, ada.id) == (404, "you do not follow this user")
    for method, action in (("POST", "follow"), ("DELETE", "unfollow")):
        code, detail = await refused(method, ada, ada.id)
        assert code == 422
        assert detail == [
            {
                "type": "value_error",
                "loc": ["path", "user_id"],
                "msg": f"you cannot {action} yourself",
                "input": str(ada.id),
            }
        ]
    assert await _follows(raw) == before


async def test_at_most_max_follows(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea, cat = await sign_up(name="Ada"), await sign_up(name="Bea"), await sign_up(name="Cat")
    # Ada already follows Cat and MAX_FOLLOWS - 1 others.
    await raw.execute(
        "INSERT INTO users (name, email, password_hash) "
        "SELECT 'user ' || n, 'cap' || n || '@example.com', 'x' "
        "FROM generate_series(1, $1::int) n",
        MAX_FOLLOWS - 1,
    )
    await raw.execute(
        "INSERT INTO follows (follower_id, followed_id) "
        "SELECT $1, id FROM users WHERE email LIKE 'cap%' OR id = $2",
        ada.id,
        cat.id,
    )
    assert len(await _follows(raw)) == MAX_FOLLOWS

    response = await client.post(f"/users/{bea.id}/follow", headers=ada.headers)
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"you already follow {MAX_FOLLOWS} users, the most allowed; "
        "unfollow someone first"
    }
    # Following one of them again is still "already".
    again = await client.post(f"/users/{cat.id}/follow", headers=ada.headers)
    assert again.json() == {"detail": "you already follow this user"}
    assert len(await _follows(raw)) == MAX_FOLLOWS
    assert await _following(client, bea.id, ada.headers) is False

    # One fewer makes room for one more; others are not held back by Ada's cap.
    assert (await client.delete(f"/users/{cat.id}/follow", headers=ada.headers)).status_code == 200
    assert (await client.post(f"/users/{bea.id}/follow", headers=ada.headers)).status_code == 200
    assert (await client.post(f"/users/{ada.id}/follow", headers=bea.headers)).status_code == 200
    assert len(await _follows(raw)) == MAX_FOLLOWS + 1


async def test_a_deleted_user_s_follows_go_with_them(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea, cat = await sign_up(name="Ada"), await sign_up(name="Bea"), await sign_up(name="Cat")
    await client.post(f"/users/{bea.id}/follow", headers=ada.headers)
    await client.post(f"/users/{ada.id}/follow", headers=bea.headers)
    await client.post(f"/users/{cat.id}/follow", headers=bea.headers)
    deleted = await client.request(
        "DELETE", "/users/me", json={"current_password": PASSWORD}, headers=bea.headers
    )
    assert deleted.status_code == 204
    assert await _follows(raw) == []
    response = await client.post(f"/users/{bea.id}/follow", headers=ada.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(("deleted", "status"), [("followed", 404), ("follower", 401)])
async def test_a_user_deleted_while_the_follow_runs(
    scratch_database: ScratchDatabase, deleted: str, status: int
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=4) as client:
        follower, followed = await sign_up_with(client, "Ada"), await sign_up_with(client, "Bea")
        gone = followed if deleted == "followed" else follower
        async with connect(url) as conn, conn.transaction():
            # The deletion holds the row; the follow's foreign-key check waits for it, then fails.
            await conn.execute("DELETE FROM users WHERE id = $1", gone.id)
            request = asyncio.create_task(
                client.post(f"/users/{followed.id}/follow", headers=follower.headers)
            )
            await asyncio.sleep(0.3)
        answer = await request
    assert answer.status_code == status, answer.text
    assert await fetchval(url, "SELECT count(*) FROM follows") == 0


# --- cost --------------------------------------------------------------------------------------


async def _statements(
    raw: asyncpg.Connection, client: AsyncClient, method: str, path: str, **kw: Any
) -> list[str]:
    """The statements one request runs on the app's connection (the only one it has)."""
    async with statements_run(raw) as seen:
        response = await client.request(method, path, **kw)
        assert response.status_code == 200, response.text
    # A counted write sweeps ended rate-limit windows now and then (service/limits.py).
    return [statement for statement in seen if statement != queries.RATE_LIMIT_SWEEP.sql]


async def test_each_request_is_one_statement(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    await raw.execute(
        "INSERT INTO users (name, email, password_hash) "
        "SELECT 'user ' || n, 'cost' || n || '@example.com', 'x' FROM generate_series(1, 30) n"
    )
    await raw.execute(
        "INSERT INTO follows (follower_id, followed_id) "
        "SELECT $1, id FROM users WHERE email LIKE 'cost%' AND id % 2 = 0",
        ada.id,
    )
    followed = {row["followed_id"] for row in await raw.fetch("SELECT followed_id FROM follows")}
    for headers in ({}, ada.headers):
        page = await client.get("/users", params={"limit": 20}, headers=headers)
        assert len(page.json()["items"]) == 20
        for user in page.json()["items"]:
            assert user["following"] is (bool(headers) and user["id"] in followed)
        seen = await _statements(
            raw, client, "GET", "/users", params={"limit": 20}, headers=headers
        )
        assert seen == [queries.USERS_PAGE.sql]
        seen = await _statements(raw, client, "GET", f"/users/{bea.id}", headers=headers)
        assert seen == [queries.USER_PROFILE.sql]
    # A follow is a write: the token checked (so a stale one spends no quota), counted against
    # the writer's limit, then made, with nothing between.
    seen = await _statements(raw, client, "POST", f"/users/{bea.id}/follow", headers=ada.headers)
    assert seen[1:] == [queries.RATE_LIMIT_HIT.sql, queries.FOLLOW.sql]
    assert "FROM users" in seen[0] and "token_version" in seen[0]
    seen = await _statements(raw, client, "DELETE", f"/users/{bea.id}/follow", headers=ada.headers)
    assert seen[1:] == [queries.RATE_LIMIT_HIT.sql, queries.UNFOLLOW.sql]
    assert "FROM users" in seen[0] and "token_version" in seen[0]


# --- by username, for the RealWorld API ----------------------------------------------------------


async def test_a_profile_by_username_in_any_letter_case(
    client: AsyncClient, sign_up: SignUp, db: Connection
) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    await client.patch("/users/me", json={"username": "Bea_B", "bio": "hi"}, headers=bea.headers)
    await client.post(f"/users/{bea.id}/follow", headers=ada.headers)
    reader = TokenClaims(user_id=ada.id, version=0)

    for username in ("Bea_B", "bea_b", "BEA_B"):
        profile = await users.get_profile_by_username(db=db, username=username, reader=reader)
        assert (profile.id, profile.username, profile.bio, profile.following) == (
            bea.id,
            "Bea_B",
            "hi",
            True,
        )
    anonymous = await users.get_profile_by_username(db=db, username="bea_b", reader=None)
    assert anonymous.following is False
    stale = TokenClaims(user_id=ada.id, version=1)
    assert (
        await users.get_profile_by_username(db=db, username="bea_b", reader=stale)
    ).following is False
    # Derived usernames are found too.
    derived = await users.get_profile_by_username(db=db, username=f"ADA.{ada.id}", reader=None)
    assert derived.id == ada.id
    for missing in ("nobody", "bea", "bea\x00b", ""):
        with pytest.raises(NotFound):
            await users.get_profile_by_username(db=db, username=missing, reader=reader)
