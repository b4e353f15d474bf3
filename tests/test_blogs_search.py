"""Full-text search (`GET /blogs?q=`): what matches, paging, and that every shape of query stays
cheap. The plan tests run on a database of their own holding 50,000 blogs with a rare word (3
blogs) and a word in 1% of them planted, and check the plan PostgreSQL makes for each call (the
search statements are planned per call: `-- plan: custom`)."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from httpx import AsyncClient

from service import blogs
from service.blogs import SEARCH_INDEX_MAX_ROWS, SEARCH_WINDOW
from service.db import queries
from service.models import MAX_ID
from service.testing.accounts import SignUp
from service.testing.databases import rolled_back, seeded_database
from service.testing.plans import plan_nodes
from tests.support.api import walk_pages

pytestmark = pytest.mark.anyio

LATEST = datetime.max.replace(tzinfo=UTC)


async def test_search_matches_words_phrases_or_and_exclusions(
    client: AsyncClient, sign_up: SignUp
) -> None:
    author = await sign_up()
    texts = {
        "a": ("Quiet morning", "coffee by the river"),
        "b": ("Loud evening", "coffee in the city"),
        "c": ("Early train", "a river walk before work"),
    }
    ids = {}
    for key, (title, body) in texts.items():
        created = await client.post(
            "/blogs", json={"title": title, "body": body}, headers=author.headers
        )
        ids[created.json()["id"]] = key

    async def found(q: str) -> set[str]:
        response = await client.get("/blogs", params={"q": q})
        assert response.status_code == 200, response.text
        return {ids[item["id"]] for item in response.json()["items"] if item["id"] in ids}

    assert await found("coffee") == {"a", "b"}
    assert await found("COFFEE river") == {"a"}  # every word, in any letter case
    assert await found('"river walk"') == {"c"}  # a phrase
    assert await found('"walk river"') == set()
    assert await found("morning or evening") == {"a", "b"}
    assert await found("coffee -city") == {"a"}
    assert await found("quiet") == {"a"}  # titles too
    assert await found("nothing-like-this") == set()
    # Nothing a client types is an error: stray operators and quotes are taken as text.
    for q in ['"', "-", "or", "& | !", "(", "coffee:*", "\\"]:
        response = await client.get("/blogs", params={"q": q})
        assert response.status_code == 200, (q, response.text)


async def test_search_pages_walk_every_match_once_newest_first(
    client: AsyncClient, sign_up: SignUp
) -> None:
    author = await sign_up()
    for n in range(25):
        word = "needle" if n % 2 else "hay"
        await client.post(
            "/blogs", json={"title": f"{word} {n}", "body": "text"}, headers=author.headers
        )
    items, pages = await walk_pages(client, "/blogs", q="needle", limit="4")
    assert [item["title"] for item in items] == [f"needle {n}" for n in range(23, 0, -2)]
    assert pages == 3
    mine, _ = await walk_pages(client, "/blogs", q="needle", author_id=str(author.id), limit="5")
    assert mine == items


@pytest.mark.parametrize("q", ["", "x" * 201, "a\x00b"])
async def test_a_bad_search_is_422(client: AsyncClient, q: str) -> None:
    assert (await client.get("/blogs", params={"q": q})).status_code == 422


# Every blog has `garden`; `quasar` is in 1% of them, `zyzzyva` in three. A small vocabulary,
# like the seed's: every other word is common, so the statistics put any word they do not list
# at about 0.5% of blogs, far above the three of a rare one. 500 authors of 100 blogs each.
PLANTED = (
    "INSERT INTO users (name, email, password_hash) "
    "SELECT 'user ' || n, 'search' || n || '@example.com', 'x' FROM generate_series(1, 500) n",
    "INSERT INTO blogs (user_id, title, body, created_at) "
    "SELECT u.id, 'title ' || n % 40 "
    "       || CASE WHEN n % 100 = 0 THEN ' quasar' ELSE '' END "
    "       || CASE WHEN n IN (7, 25000, 49999) THEN ' zyzzyva' ELSE '' END, "
    "       'the garden ' || n % 97, now() - n * interval '1 minute' "
    "FROM generate_series(1, 50000) n "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users) u ON u.k = n % 500",
)


@pytest.fixture(scope="module")
async def planted_url(server_url: str) -> AsyncIterator[str]:
    async with seeded_database(server_url, *PLANTED) as url:
        yield url


@pytest.fixture
async def planted(planted_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back(planted_url) as conn:
        yield conn


async def _plan(raw: asyncpg.Connection, query: queries.Query, /, **values: Any) -> dict[str, Any]:
    # As the service runs it: a prepared statement, planned for each call's values.
    await raw.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    statement = await raw.prepare("EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql)
    explained = await statement.fetchval(*query.args(values))
    plan: dict[str, Any] = json.loads(explained)[0]["Plan"]
    return plan


def _uses(plan: dict[str, Any], index: str) -> bool:
    return any(node.get("Index Name") == index for node in plan_nodes(plan))


def _scanned_blogs_rows(plan: dict[str, Any]) -> int:
    return sum(
        int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
        for node in plan_nodes(plan)
        if node.get("Relation Name") == "blogs" or node.get("Index Name", "").startswith("ix_blogs")
    )


FIRST_PAGE = {
    "before_created_at": LATEST,
    "before_id": MAX_ID,
    "limit": 21,
    "window": SEARCH_WINDOW,
    "reader_id": None,
    "reader_version": None,
    "index_max": SEARCH_INDEX_MAX_ROWS,
}


@pytest.mark.parametrize(
    ("word", "index", "most_rows"),
    [
        # Three matches: found through the GIN index after a bounded walk, never by walking
        # all 50,000 blogs; a word the database has never seen likewise.
        ("zyzzyva", "ix_blogs_search_vector", SEARCH_WINDOW + 1_000),
        ("neverseenbefore", "ix_blogs_search_vector", SEARCH_WINDOW + 1_000),
        # 500 matches: one in a hundred, so the walk fills the page within ~2,100 rows.
        ("quasar", "ix_blogs_created_at_id", 3_000),
        # Every blog: the newest-first walk stops after `limit` rows.
        ("garden", "ix_blogs_created_at_id", 100),
    ],
)
async def test_each_search_shape_reads_few_rows(
    planted: asyncpg.Connection, word: str, index: str | None, most_rows: int
) -> None:
    plan = await _plan(planted, queries.BLOGS_SEARCH, config="simple", query=word, **FIRST_PAGE)
    assert not any(
        node["Node Type"] == "Seq Scan"
        and node.get("Relation Name") == "blogs"
        and node.get("Actual Loops", 0) > 0
        for node in plan_nodes(plan)
    ), plan
    if index is not None:
        assert _uses(plan, index), plan
    assert _scanned_blogs_rows(plan) <= most_rows, plan


async def test_a_deep_page_of_a_common_word_is_still_an_index_walk(
    planted: asyncpg.Connection,
) -> None:
    middle = await planted.fetchrow(
        "SELECT created_at, id FROM blogs ORDER BY id LIMIT 1 OFFSET 25000"
    )
    plan = await _plan(
        planted,
        queries.BLOGS_SEARCH,
        config="simple",
        query="garden",
        before_created_at=middle["created_at"],
        before_id=middle["id"],
        limit=21,
        window=SEARCH_WINDOW,
        reader_id=None,
        reader_version=None,
        index_max=SEARCH_INDEX_MAX_ROWS,
    )
    assert _uses(plan, "ix_blogs_created_at_id"), plan
    assert _scanned_blogs_rows(plan) <= 100, plan


@pytest.mark.parametrize("word", ["zyzzyva", "quasar", "garden", "neverseenbefore"])
async def test_an_author_search_reads_only_the_author_s_blogs(
    planted: asyncpg.Connection, word: str
) -> None:
    # The author has 100 blogs, fewer than the window: step 1 walks them all and step 2 never
    # runs, whatever the statistics say of the word.
    author = await planted.fetchval("SELECT user_id FROM blogs WHERE title LIKE '% zyzzyva'")
    plan = await _plan(
        planted,
        queries.BLOGS_SEARCH_BY_AUTHOR,
        author_id=author,
        config="simple",
        query=word,
        **FIRST_PAGE,
    )
    own = await planted.fetchval("SELECT count(*) FROM blogs WHERE user_id = $1", author)
    # A walk of the author's blogs and the page's rows.
    assert _scanned_blogs_rows(plan) <= 2 * own, plan
    assert not _ran(plan, "ix_blogs_search_vector"), plan
    assert not _walks_all_blogs(plan), plan


@pytest.mark.parametrize("word", ["zyzzyva", "quasar", "neverseenbefore"])
async def test_an_author_with_more_blogs_than_the_window_is_searched_by_the_index(
    planted: asyncpg.Connection, word: str
) -> None:
    author = await planted.fetchval("SELECT user_id FROM blogs WHERE title LIKE '% zyzzyva'")
    values: dict[str, Any] = {"author_id": author, "config": "simple", "query": word}
    keyset = FIRST_PAGE | {"window": 30}
    plan = await _plan(planted, queries.BLOGS_SEARCH_BY_AUTHOR, **values, **keyset)
    assert not _walks_all_blogs(plan), plan
    found = await planted.fetch(
        queries.BLOGS_SEARCH_BY_AUTHOR.sql, *queries.BLOGS_SEARCH_BY_AUTHOR.args(values | keyset)
    )
    expected = await planted.fetch(
        "SELECT id FROM blogs WHERE user_id = $1 "
        "AND search_vector @@ websearch_to_tsquery('simple', $2) "
        "ORDER BY created_at DESC, id DESC LIMIT 21",
        author,
        word,
    )
    assert [row["id"] for row in found] == [row["id"] for row in expected]


def _ran(plan: dict[str, Any], index: str) -> bool:
    return any(
        node.get("Index Name") == index and node.get("Actual Loops", 0) > 0
        for node in plan_nodes(plan)
    )


def _walks_all_blogs(plan: dict[str, Any]) -> bool:
    """Whether a scan of the whole table, or of its newest-first index, ran."""
    return any(
        node.get("Actual Loops", 0) > 0
        and (
            (node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "blogs")
            or node.get("Index Name") == "ix_blogs_created_at_id"
        )
        for node in plan_nodes(plan)
    )


def test_the_row_count_check_can_fail() -> None:
    walk = {"Node Type": "Index Scan", "Index Name": "ix_blogs_created_at_id", "Actual Rows": 21}
    filtered = walk | {"Rows Removed by Filter": 49_000}
    assert _scanned_blogs_rows(walk) == 21
    assert _scanned_blogs_rows({"Node Type": "Limit", "Plans": [filtered]}) == 49_021


async def test_words_too_common_for_the_index_end_the_page_at_the_window(
    planted: asyncpg.Connection,
) -> None:
    # As a phrase of two common words would: the statistics put more blogs than index_max
    # behind the words, so the page is what the window held, and a resume row says where the
    # next page walks on from. The GIN index is never read.
    values = FIRST_PAGE | {"config": "simple", "query": "zyzzyva", "index_max": 0}
    plan = await _plan(planted, queries.BLOGS_SEARCH, **values)
    assert not _ran(plan, "ix_blogs_search_vector"), plan
    assert _scanned_blogs_rows(plan) <= SEARCH_WINDOW + 100, plan
    rows = await planted.fetch(queries.BLOGS_SEARCH.sql, *queries.BLOGS_SEARCH.args(values))
    window_end = await planted.fetchrow(
        "SELECT id, created_at FROM blogs ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
        SEARCH_WINDOW - 1,
    )
    assert [(row["resume"], row["title"]) for row in rows] == [
        (False, "title 7 zyzzyva"),
        (True, None),
    ]
    assert (rows[-1]["id"], rows[-1]["created_at"]) == (window_end["id"], window_end["created_at"])


async def test_pages_that_end_at_the_window_still_walk_every_match_once(
    client: AsyncClient, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blogs, "SEARCH_WINDOW", 4)
    monkeypatch.setattr(blogs, "SEARCH_INDEX_MAX_ROWS", -1)  # never through the index
    author = await sign_up()
    for n in range(25):
        word = "needle" if n % 3 == 0 else "hay"
        await client.post(
            "/blogs", json={"title": f"{word} {n}", "body": "text"}, headers=author.headers
        )
    items, pages = await walk_pages(client, "/blogs", q="needle", limit="2")
    assert [item["title"] for item in items] == [f"needle {n}" for n in range(24, -1, -3)]
    assert pages >= 7  # four blogs a page at most: 25 blogs take seven windows


@pytest.mark.parametrize("query", ["-garden", "-the -garden -title", "-garden or -the"])
@pytest.mark.parametrize("by_author", [False, True], ids=["all", "by_author"])
async def test_a_search_of_exclusions_only_never_reads_every_blog(
    planted: asyncpg.Connection, query: str, by_author: bool
) -> None:
    # Every blog holds these words, so nothing matches, and the statistics say so: without a
    # word to look up, the GIN index would be read whole and every blog rechecked. The page
    # ends at the window instead, with where to walk on from.
    values: dict[str, Any] = FIRST_PAGE | {"config": "simple", "query": query}
    search = queries.BLOGS_SEARCH
    if by_author:
        author = await planted.fetchval("SELECT user_id FROM blogs WHERE title LIKE '% zyzzyva'")
        values |= {"author_id": author, "window": 30}
        search = queries.BLOGS_SEARCH_BY_AUTHOR
    plan = await _plan(planted, search, **values)
    assert not _ran(plan, "ix_blogs_search_vector"), plan
    assert _scanned_blogs_rows(plan) <= values["window"] + 100, plan
    rows = await planted.fetch(search.sql, *search.args(values))
    assert [row["resume"] for row in rows] == [True]
