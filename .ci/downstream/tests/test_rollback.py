"""Each test's writes vanish at its end: the second test runs after the first and sees none of
what it wrote (the database is new, so it sees no blog at all)."""

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.accounts import SignUp

pytestmark = pytest.mark.anyio

TITLE = "Written by the first test"


async def test_a_blog_written_through_the_app_is_seen(client: AsyncClient, sign_up: SignUp) -> None:
    ada = await sign_up("Ada")
    written = await client.post("/blogs", json={"title": TITLE, "body": "b"}, headers=ada.headers)
    assert written.status_code == 201, written.text
    read = await client.get(f"/blogs/{written.json()['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["title"] == TITLE


async def test_the_next_test_does_not_see_it(client: AsyncClient, raw: asyncpg.Connection) -> None:
    page = await client.get("/blogs", params={"limit": 100})
    assert page.status_code == 200, page.text
    assert TITLE not in [blog["title"] for blog in page.json()["items"]]
    assert await raw.fetchval("SELECT count(*) FROM blogs") == 0
    assert await raw.fetchval("SELECT count(*) FROM users") == 0
