"""The project's own endpoint costs one statement, and its query walks an index at any size."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from httpx import AsyncClient
from titles import BLOG_TITLES

from service.testing.accounts import SignUp
from service.testing.databases import rolled_back, seeded_database
from service.testing.plans import plan_problems, prepared_plan
from service.testing.statements import statements_run

pytestmark = pytest.mark.anyio

# 20,000 blogs by 100 users.
SEEDED = (
    "INSERT INTO users (name, email, password_hash) "
    "SELECT 'user ' || n, 'titles' || n || '@example.com', 'x' FROM generate_series(1, 100) n",
    "INSERT INTO blogs (user_id, title, body, created_at) "
    "SELECT u.id, 'title ' || n, 'b', now() - n * interval '1 minute' "
    "FROM generate_series(1, 20000) n "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users) u ON u.k = n % 100",
)


async def test_the_titles_are_one_statement(
    client: AsyncClient, raw: asyncpg.Connection, sign_up: SignUp
) -> None:
    ada = await sign_up("Ada")
    for n in range(3):
        await client.post("/blogs", json={"title": f"t{n}", "body": "b"}, headers=ada.headers)
    async with statements_run(raw) as statements:
        response = await client.get(f"/users/{ada.id}/titles")
    assert response.status_code == 200, response.text
    assert [title["title"] for title in response.json()] == ["t2", "t1", "t0"]
    assert len(statements) == 1, statements


@pytest.fixture(scope="module")
async def seeded_url(server_url: str) -> AsyncIterator[str]:
    async with seeded_database(server_url, *SEEDED) as url:
        yield url


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_titles_walk_an_index(seeded_url: str, mode: str) -> None:
    async with rolled_back(seeded_url) as conn:
        await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
        args = BLOG_TITLES.args({"user_id": 7, "limit": 20})
        plan = await prepared_plan(conn, BLOG_TITLES.sql, args, name="blog_titles")
    assert plan_problems(plan, {"blogs"}) == []
