"""Every write checks the token the native API's way, under /api too: a token from before a
password change, or of a deleted account, is a 401 (never a 200, never a 500), and it spends
nobody's write quota."""

import pytest
import sqlalchemy as sa
from httpx import AsyncClient

from service import blogs
from service.db.database import Connection
from service.db.tables import users
from service.errors import AuthenticationFailed
from service.testing.accounts import PASSWORD, SignUp, sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase
from service.tokens import TokenClaims
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio


async def test_a_deleted_account_s_token_is_a_401_on_every_write(
    client: AsyncClient, sign_up: SignUp
) -> None:
    author, gone = await sign_up("Ada"), await sign_up("Gone")
    blog = (
        await client.post("/blogs", json={"title": "t", "body": "b"}, headers=author.headers)
    ).json()
    deleted = await client.request(
        "DELETE", "/users/me", json={"current_password": PASSWORD}, headers=gone.headers
    )
    assert deleted.status_code == 204, deleted.text
    api_headers = {"Authorization": gone.headers["Authorization"].replace("Bearer", "Token")}
    writes = [
        ("POST", f"/blogs/{blog['id']}/favorite", gone.headers),
        ("POST", f"/api/articles/{blog['slug']}/favorite", api_headers),
        ("DELETE", f"/api/articles/{blog['slug']}/favorite", api_headers),
        ("POST", f"/users/{author.id}/follow", gone.headers),
    ]
    for method, path, headers in writes:
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 401, (path, response.text)


async def test_a_stale_token_spends_nobody_s_write_quota(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, settings=settings_for(url, write_max_per_user=2)) as client:
        writer, author = await sign_up_with(client, "Ada"), await sign_up_with(client, "Bea")
        blog = (
            await client.post("/blogs", json={"title": "t", "body": "b"}, headers=author.headers)
        ).json()
        stale = writer.headers
        change = {"password": "a brand new password", "current_password": PASSWORD}
        assert (await client.patch("/users/me", json=change, headers=stale)).status_code == 200
        api_stale = {"Authorization": stale["Authorization"].replace("Bearer", "Token")}
        for _ in range(3):
            native = await client.post(f"/users/{author.id}/follow", headers=stale)
            assert native.status_code == 401, native.text
            api = await client.post(f"/api/articles/{blog['slug']}/favorite", headers=api_stale)
            assert api.status_code == 401, api.text
        login = await client.post(
            "/auth/token", data={"username": writer.email, "password": "a brand new password"}
        )
        fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # The whole quota is still there.
        assert (await client.post(f"/users/{author.id}/follow", headers=fresh)).status_code == 200
        assert (
            await client.post(f"/blogs/{blog['id']}/favorite", headers=fresh)
        ).status_code == 200
        assert (
            await client.post(f"/blogs/{blog['id']}/comments", json={"body": "c"}, headers=fresh)
        ).status_code == 429


async def test_the_favorite_statements_check_the_token_version_themselves(
    db: Connection, client: AsyncClient, sign_up: SignUp
) -> None:
    # Below the routes' own check: a password changed between that check and the statement.
    author, reader = await sign_up("Ada"), await sign_up("Bea")
    blog = (
        await client.post("/blogs", json={"title": "t", "body": "b"}, headers=author.headers)
    ).json()
    stale = TokenClaims(user_id=reader.id, version=0)
    await db.fetch_one(
        sa.update(users)
        .where(users.c.id == reader.id)
        .values(token_version=1)
        .returning(users.c.id)
    )
    for write in (blogs.favorite, blogs.unfavorite):
        with pytest.raises(AuthenticationFailed):
            await write(db=db, reader=stale, blog_id=blog["id"])
    gone = TokenClaims(user_id=2**62, version=0)
    with pytest.raises(AuthenticationFailed):
        await blogs.favorite(db=db, reader=gone, blog_id=blog["id"])
    assert (await blogs.get_blog(db=db, blog_id=blog["id"])).favorites_count == 0
