"""Favorites: one per reader and blog, counted on the blog, shown as `favorited` to the reader."""

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.accounts import SignUp
from tests.support.api import write_blog

pytestmark = pytest.mark.anyio


async def test_favorite_and_unfavorite(client: AsyncClient, sign_up: SignUp) -> None:
    author, reader = await sign_up("Ada"), await sign_up("Bea")
    blog = await write_blog(client, author.headers)
    path = f"/blogs/{blog['id']}"

    favorited = await client.post(f"{path}/favorite", headers=reader.headers)
    assert favorited.status_code == 200, favorited.text
    assert (favorited.json()["favorites_count"], favorited.json()["favorited"]) == (1, True)
    mine = (await client.get(path, headers=reader.headers)).json()
    assert (mine["favorites_count"], mine["favorited"]) == (1, True)
    theirs = (await client.get(path, headers=author.headers)).json()
    assert (theirs["favorites_count"], theirs["favorited"]) == (1, False)
    anonymous = (await client.get(path)).json()
    assert (anonymous["favorites_count"], anonymous["favorited"]) == (1, False)
    for path_of_list in ("/blogs", f"/users/{author.id}/blogs", f"/blogs?author_id={author.id}"):
        listed = (await client.get(path_of_list, headers=reader.headers)).json()["items"]
        assert [(b["id"], b["favorited"]) for b in listed] == [(blog["id"], True)], path_of_list

    unfavorited = await client.delete(f"{path}/favorite", headers=reader.headers)
    assert unfavorited.status_code == 200
    assert (unfavorited.json()["favorites_count"], unfavorited.json()["favorited"]) == (0, False)


async def test_favoriting_twice_is_409_and_counts_once(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    blog = await write_blog(client, author.headers)
    path = f"/blogs/{blog['id']}/favorite"
    assert (await client.post(path, headers=author.headers)).status_code == 200
    again = await client.post(path, headers=author.headers)
    assert again.status_code == 409
    assert again.json() == {"detail": "the blog is already a favorite"}
    count = await raw.fetchval("SELECT favorites_count FROM blogs WHERE id = $1", blog["id"])
    assert count == 1


async def test_bad_favorites_are_4xx_and_change_nothing(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    blog = await write_blog(client, author.headers)
    path = f"/blogs/{blog['id']}/favorite"
    assert (await client.post(path)).status_code == 401
    assert (
        await client.post("/blogs/999999999/favorite", headers=author.headers)
    ).status_code == 404
    not_one = await client.delete(path, headers=author.headers)
    assert not_one.status_code == 404
    assert not_one.json() == {"detail": "the blog is not a favorite"}
    await client.delete(f"/blogs/{blog['id']}", headers=author.headers)
    assert (await client.post(path, headers=author.headers)).status_code == 404
    assert await raw.fetchval("SELECT count(*) FROM favorites") == 0


async def test_a_stale_token_reads_as_anonymous(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    blog = await write_blog(client, author.headers)
    await client.post(f"/blogs/{blog['id']}/favorite", headers=author.headers)
    await raw.execute("UPDATE users SET token_version = token_version + 1 WHERE id = $1", author.id)
    read = await client.get(f"/blogs/{blog['id']}", headers=author.headers)
    assert read.status_code == 200
    assert (read.json()["favorites_count"], read.json()["favorited"]) == (1, False)
    refused = await client.post(f"/blogs/{blog['id']}/favorite", headers=author.headers)
    assert refused.status_code == 401


async def test_a_deleted_user_s_favorites_leave_the_count(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author, fan = await sign_up("Ada"), await sign_up("Bea")
    blog = await write_blog(client, author.headers)
    await client.post(f"/blogs/{blog['id']}/favorite", headers=fan.headers)
    await raw.execute("DELETE FROM users WHERE id = $1", fan.id)
    assert (await client.get(f"/blogs/{blog['id']}")).json()["favorites_count"] == 0
