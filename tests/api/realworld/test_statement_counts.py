"""GET /api/articles is one SQL statement per request, with or without filters and whether the
reader is signed in or not: the page, its authors, tags and flags, and the capped count."""

import asyncpg
import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import Member, Register, Write
from tests.utils import statements_run

pytestmark = pytest.mark.anyio


@pytest.fixture
async def populated(client: AsyncClient, register: Register, write: Write) -> dict[str, Member]:
    reader, author = await register("sc_reader"), await register("sc_author")
    for n in range(25):
        article = await write(author, title=f"a{n}", tags=["common", f"t{n % 3}"])
        if n % 2:
            await client.post(f"/api/articles/{article['slug']}/favorite", headers=reader.headers)
    await client.post(f"/api/profiles/{author.username}/follow", headers=reader.headers)
    return {"reader": reader, "author": author}


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
    populated: dict[str, Member],
    path: str,
    signed_in: bool,
) -> None:
    headers = populated["reader"].headers if signed_in else {}
    async with statements_run(raw) as statements:
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["articles"] != []
    assert len(statements) == 1, statements


async def test_the_feed_is_one_statement(
    client: AsyncClient, raw: asyncpg.Connection, populated: dict[str, Member]
) -> None:
    async with statements_run(raw) as statements:
        response = await client.get("/api/articles/feed", headers=populated["reader"].headers)
    assert len(response.json()["articles"]) == 20
    assert response.json()["articlesCount"] == 25
    assert len(statements) == 1, statements
