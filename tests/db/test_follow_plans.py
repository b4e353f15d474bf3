"""The statements that show users and follow them, at scale: no sequential scan of users or
follows and no sort over users, for the custom plan and for the generic one PostgreSQL may switch
to after a few executions (tests/db/test_queries.py does the same for blogs)."""

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from service.db import queries
from service.models import MAX_FOLLOWS
from service.testing.databases import rolled_back, seeded_database
from service.testing.plans import plan_problems, prepared_plan

pytestmark = pytest.mark.anyio

# 20,000 users; each of the first 5,000 follows the 20 after it; user 7 follows 1,000.
SEEDED = (
    "INSERT INTO users (name, email, password_hash) "
    "SELECT 'user ' || n, 'follows' || n || '@example.com', 'x' "
    "FROM generate_series(1, 20000) n",
    "INSERT INTO follows (follower_id, followed_id) "
    "SELECT a.id, a.id + k FROM users a, generate_series(1, 20) k WHERE a.id <= 5000 "
    "AND a.id <> 7",
    "INSERT INTO follows (follower_id, followed_id) "
    "SELECT 7, id FROM users WHERE id > 7 ORDER BY id LIMIT 1000",
)

READER = {"reader_id": 7, "reader_version": 0}
ANONYMOUS = {"reader_id": None, "reader_version": None}
CASES: list[tuple[str, dict[str, Any]]] = [
    ("users_page", {"after_id": 0, "limit": 21, **READER}),
    ("users_page", {"after_id": 15000, "limit": 101, **READER}),
    ("users_page", {"after_id": 0, "limit": 21, **ANONYMOUS}),
    ("user_profile", {"id": 12, **READER}),
    ("user_profile", {"id": 12, **ANONYMOUS}),
    ("user_profile_by_username", {"username": "USER-12.12", **READER}),
    ("user_profile_by_username", {"username": "nobody", **ANONYMOUS}),
    (
        "follow",
        {"follower_id": 7, "follower_version": 0, "followed_id": 9000, "max_follows": MAX_FOLLOWS},
    ),
    (
        "follow",
        {"follower_id": 9000, "follower_version": 0, "followed_id": 12, "max_follows": MAX_FOLLOWS},
    ),
    ("unfollow", {"follower_id": 7, "follower_version": 0, "followed_id": 12}),
]


@pytest.fixture(scope="module")
async def seeded_url(server_url: str) -> AsyncIterator[str]:
    async with seeded_database(server_url, *SEEDED) as url:
        yield url


@pytest.fixture
async def seeded(seeded_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back(seeded_url) as conn:
        yield conn


def _problems(plan: dict[str, Any]) -> list[str]:
    return plan_problems(plan, {"users", "follows"})


def test_the_plan_check_can_fail() -> None:
    scan = {"Node Type": "Seq Scan", "Relation Name": "follows"}
    assert _problems({"Node Type": "Sort", "Plans": [scan]}) == [
        "sort over follows",
        "sequential scan of follows",
    ]


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_no_scan_of_users_or_follows(
    seeded: asyncpg.Connection, plan_cache_mode: str
) -> None:
    await seeded.execute(f"SET LOCAL plan_cache_mode = {plan_cache_mode}")
    found = {}
    for number, (name, params) in enumerate(CASES):
        query = queries.load(name)
        plan = await prepared_plan(seeded, query.sql, query.args(params), name=f"plan_{number}")
        if plan_cache_mode == "force_generic_plan":
            assert "$1" in json.dumps(plan), name
        if problems := _problems(plan):
            found[f"{name} {params}"] = (problems, plan)
    assert found == {}
