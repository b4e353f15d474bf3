"""The feed: blogs by the users the reader follows, newest first, in keyset pages."""

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.accounts import SignUp
from tests.support.api import walk_pages, write_blog

pytestmark = pytest.mark.anyio


async def _follow(raw: asyncpg.Connection, follower: int, followed: int) -> None:
    await raw.execute(
        "INSERT INTO follows (follower_id, followed_id) VALUES ($1, $2)", follower, followed
    )


async def test_the_feed_has_the_followed_authors_blogs_newest_first(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    reader, ada, bea, cyd = [await sign_up(name) for name in ("Reader", "Ada", "Bea", "Cyd")]
    expected = []
    for n in range(9):
        author = (ada, bea, cyd)[n % 3]
        blog = await write_blog(client, author.headers, title=f"blog {n}")
        if author is not cyd:
            expected.append(blog["id"])
    await write_blog(client, reader.headers, title="my own")
    await _follow(raw, reader.id, ada.id)
    await _follow(raw, reader.id, bea.id)

    items, pages = await walk_pages(client, "/feed", limit="4", headers=reader.headers)
    assert [item["id"] for item in items] == expected[::-1]
    assert pages == 2
    assert all(item["owner"]["following"] for item in items)


async def test_an_empty_feed_and_the_feed_needs_a_current_token(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    reader = await sign_up()
    empty = await client.get("/feed", headers=reader.headers)
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "next_cursor": None}
    assert (await client.get("/feed")).status_code == 401
    await raw.execute("UPDATE users SET token_version = token_version + 1 WHERE id = $1", reader.id)
    assert (await client.get("/feed", headers=reader.headers)).status_code == 401
