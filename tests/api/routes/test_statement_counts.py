"""Every list is one SQL statement per request, whatever the page size and whether the reader
is signed in: owners, tags, counts and the reader's flags come from joins and EXISTS, never from
a query per item. Counted on the app's connection with asyncpg's query logger."""

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.accounts import SignUp
from service.testing.statements import statements_run

pytestmark = pytest.mark.anyio


@pytest.fixture
async def populated(client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection) -> dict:
    """25 blogs by five authors, each with two tags, some favorited; the reader follows all
    five and has commented on every blog."""
    reader = await sign_up("Reader")
    authors = [await sign_up(f"Author {n}") for n in range(5)]
    for n in range(25):
        author = authors[n % 5]
        response = await client.post(
            "/blogs",
            json={"title": f"blog {n} word", "body": "b", "tags": ["common", f"t{n % 3}"]},
            headers=author.headers,
        )
        blog = response.json()
        if n % 2:
            await client.post(f"/blogs/{blog['id']}/favorite", headers=reader.headers)
    for author in authors:
        await raw.execute(
            "INSERT INTO follows (follower_id, followed_id) VALUES ($1, $2)", reader.id, author.id
        )
    await raw.execute(
        "INSERT INTO comments (blog_id, user_id, body) SELECT id, $1, 'c' FROM blogs", reader.id
    )
    return {"reader": reader, "author": authors[0], "blog": blog}


LISTS = [
    "/blogs?limit=20",
    "/blogs?limit=20&tag=common",
    "/blogs?limit=20&q=word",
    "/blogs?limit=20&q=word&author_id={author}",
    "/blogs?limit=20&author_id={author}",
    "/users/{author}/blogs?limit=20",
    "/blogs/{blog}",
    "/blogs/{blog}/comments?limit=20",
    "/users?limit=20",
    "/users/{author}",
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("path", LISTS)
async def test_a_read_is_one_statement(
    client: AsyncClient, raw: asyncpg.Connection, populated: dict, path: str, signed_in: bool
) -> None:
    url = path.format(author=populated["author"].id, blog=populated["blog"]["id"])
    headers = populated["reader"].headers if signed_in else {}
    async with statements_run(raw) as statements:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("items", [body]) != []
    assert len(statements) == 1, statements


async def test_the_feed_is_one_statement(
    client: AsyncClient, raw: asyncpg.Connection, populated: dict
) -> None:
    # Signed in by definition: the token is checked inside the feed's own statement.
    async with statements_run(raw) as statements:
        response = await client.get("/feed?limit=20", headers=populated["reader"].headers)
    assert len(response.json()["items"]) == 20
    assert len(statements) == 1, statements


async def test_the_count_sees_every_statement(
    client: AsyncClient, raw: asyncpg.Connection, populated: dict
) -> None:
    # A write checks the token, then writes: the counter must see both.
    async with statements_run(raw) as statements:
        await client.delete(
            f"/blogs/{populated['blog']['id']}/favorite", headers=populated["reader"].headers
        )
    assert len(statements) >= 2, statements
