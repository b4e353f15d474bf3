"""Every /api read is one SQL statement per request, with or without filters and whether the
reader is signed in or not: a list's page, its authors, tags and flags, and the capped count; an
article by its slug; an article's comments, none or some, found by the article's slug."""

from typing import Any

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.statements import statements_run
from tests.api.realworld.conftest import Register, Write

pytestmark = pytest.mark.anyio


@pytest.fixture
async def populated(client: AsyncClient, register: Register, write: Write) -> dict[str, Any]:
    reader, author = await register("sc_reader"), await register("sc_author")
    for n in range(25):
        article = await write(author, title=f"a{n}", tags=["common", f"t{n % 3}"])
        if n % 2:
            await client.post(f"/api/articles/{article['slug']}/favorite", headers=reader.headers)
    await client.post(f"/api/profiles/{author.username}/follow", headers=reader.headers)
    for n in range(3):
        comment = {"comment": {"body": f"c{n}"}}
        path = f"/api/articles/{article['slug']}/comments"
        await client.post(path, json=comment, headers=reader.headers)
    quiet = await write(author, title="no comments")
    return {"reader": reader, "author": author, "article": article, "quiet": quiet}


LISTS = [
    "/api/articles?limit=20",
    "/api/articles?limit=20&offset=5",
    "/api/articles?tag=common",
    "/api/articles?author=sc_author",
    "/api/articles?favorited=sc_reader",
    "/api/articles?author=sc_author&tag=t1&favorited=sc_reader",
    "/api/articles?favorited=sc_reader&tag=t1",
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("path", LISTS)
async def test_a_list_is_one_statement(
    client: AsyncClient,
    raw: asyncpg.Connection,
    populated: dict[str, Any],
    path: str,
    signed_in: bool,
) -> None:
    headers = populated["reader"].headers if signed_in else {}
    async with statements_run(raw) as statements:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["articles"] != []
    assert len(statements) == 1, statements


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("/api/articles/{slug}", "article", None),
        ("/api/articles/{slug}/comments", "comments", 3),
        ("/api/articles/{quiet}/comments", "comments", 0),
    ],
)
async def test_an_article_and_its_comments_are_one_statement(
    client: AsyncClient,
    raw: asyncpg.Connection,
    populated: dict[str, Any],
    signed_in: bool,
    path: str,
    key: str,
    expected: int | None,
) -> None:
    headers = populated["reader"].headers if signed_in else {}
    url = path.format(slug=populated["article"]["slug"], quiet=populated["quiet"]["slug"])
    async with statements_run(raw) as statements:
        response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    if expected is not None:
        assert len(response.json()[key]) == expected
    assert len(statements) == 1, statements


async def test_an_unknown_slug_s_comments_are_a_404_in_one_statement(
    client: AsyncClient, raw: asyncpg.Connection
) -> None:
    async with statements_run(raw) as statements:
        response = await client.get("/api/articles/no-such-article/comments")
    assert response.status_code == 404
    assert len(statements) == 1, statements


async def test_the_feed_is_one_statement(
    client: AsyncClient, raw: asyncpg.Connection, populated: dict[str, Any]
) -> None:
    async with statements_run(raw) as statements:
        response = await client.get("/api/articles/feed", headers=populated["reader"].headers)
    assert len(response.json()["articles"]) == 20
    assert response.json()["articlesCount"] == 26
    assert len(statements) == 1, statements
