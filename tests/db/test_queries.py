"""Named SQL: the loader, and every statement in sql/queries/ against a migrated database.

The plan tests run on a database of their own holding 50,000 blogs, and fail on a sequential
scan of `blogs` or a sort over it, for the custom plan PostgreSQL makes for the first
executions of a prepared statement and for the generic plan it may switch to afterwards. The
search statements are planned for each call (`-- plan: custom`) and their plans depend on the
words searched for: tests/test_blogs_search.py checks them.
"""

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from service.blogs import SEARCH_INDEX_MAX_ROWS, SEARCH_WINDOW
from service.db import queries
from service.db.queries import PARTS, Query, QueryFileError, load_all, parse
from service.models import MAX_ID
from service.testing.databases import rolled_back, seeded_database
from service.testing.plans import plan_nodes, plan_problems, prepared_plan

pytestmark = pytest.mark.anyio

LATEST = datetime.max.replace(tzinfo=UTC)

# A signed-in reader (who follows 50 users in the seeded database).
READER = {"reader_id": 7, "reader_version": 0}

# Parameters for each query, as the data functions pass them; one entry per query file.
SAMPLES: dict[str, dict[str, Any]] = {
    "blog_detail": {"id": 1234, **READER},
    "blog_by_slug": {"slug": "title-1234-1234", **READER},
    "blog_create": {
        "user_id": 7,
        "title": "t",
        "body": "b",
        "description": "",
        "tags": ["sql", "new"],
    },
    "blogs_page": {"before_created_at": LATEST, "before_id": MAX_ID, "limit": 21, **READER},
    "blogs_page_by_author": {
        "author_id": 7,
        "before_created_at": LATEST,
        "before_id": MAX_ID,
        "limit": 21,
        **READER,
    },
    "blogs_page_by_tag": {
        "tag": "tag3",
        "before_created_at": LATEST,
        "before_id": MAX_ID,
        "limit": 21,
        **READER,
    },
    "blogs_feed": {"before_created_at": LATEST, "before_id": MAX_ID, "limit": 21, **READER},
    "articles_page": {"walk": 10_001, "offset": 0, "limit": 20, **READER},
    "articles_page_by_author": {
        "author": "User-1.12",
        "tag": "tag3",
        "favorited": "user-7.7",
        "walk": 10_001,
        "offset": 0,
        "limit": 20,
        **READER,
    },
    "articles_page_by_favorited": {
        "favorited": "user-7.7",
        "tag": "tag3",
        "walk": 10_001,
        "offset": 0,
        "limit": 20,
        **READER,
    },
    "articles_page_by_tag": {"tag": "tag3", "walk": 10_001, "offset": 0, "limit": 20, **READER},
    "articles_feed": {"walk": 1_001, "offset": 0, "limit": 20, **READER},
    "favorite_add": {"blog_id": 1234, **READER},
    "favorite_remove": {"blog_id": 1234, **READER},
    "tags_top": {"limit": 20},
    "blogs_search": {
        "config": "simple",
        "query": "title",
        "before_created_at": LATEST,
        "before_id": MAX_ID,
        "limit": 21,
        "window": SEARCH_WINDOW,
        "index_max": SEARCH_INDEX_MAX_ROWS,
        **READER,
    },
    "blogs_search_by_author": {
        "author_id": 7,
        "config": "simple",
        "query": "title",
        "before_created_at": LATEST,
        "before_id": MAX_ID,
        "limit": 21,
        "window": SEARCH_WINDOW,
        "index_max": SEARCH_INDEX_MAX_ROWS,
        **READER,
    },
    "users_page": {"after_id": 0, "limit": 21, **READER},
    "user_profile": {"id": 12, **READER},
    "user_profile_by_username": {"username": "User-1.12", **READER},
    "follow": {"follower_id": 7, "follower_version": 0, "followed_id": 12, "max_follows": 1000},
    "unfollow": {"follower_id": 7, "follower_version": 0, "followed_id": 12},
    "blog_update": {
        "id": 1234,
        "user_id": 7,
        "title": "New",
        "body": None,
        "description": None,
        "tags": ["sql"],
        "versions": None,
    },
    "blog_delete": {"id": 1234, "user_id": 7},
    "comment_create": {"blog_id": 1234, "user_id": 7, "body": "Nice post"},
    "comments_page": {"blog_id": 1234, "slug": None, "after_id": 0, "limit": 21, **READER},
    "comment_delete": {"blog_id": 1234, "id": 5678, "user_id": 7},
    "rate_limit_hit": {"keys": ["login-pair:ab", "login-account:cd"], "window_seconds": [60, 60]},
    "rate_limit_forgive": {"keys": ["login-account:cd"], "cleared": ["login-pair:ab"]},
    "rate_limit_sweep": {"batch": 500},
}

# Deep pages and filters: the plan must not change shape with the key or the filter.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (name, params) for name, params in SAMPLES.items()
] + [
    (
        "blogs_page",
        {
            "before_created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "before_id": 10,
            "limit": 21,
            **READER,
        },
    ),
    (
        "blogs_page_by_author",
        {
            "author_id": 7,
            "before_created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "before_id": 10,
            "limit": 101,
            **READER,
        },
    ),
    (
        "blogs_page_by_tag",
        {
            "tag": "tag3",
            "before_created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "before_id": 10,
            "limit": 101,
            **READER,
        },
    ),
    (
        "blogs_feed",
        {
            "before_created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "before_id": 10,
            "limit": 101,
            **READER,
        },
    ),
    (
        "articles_page_by_author",
        {
            "author": "User-1.12",
            "tag": None,
            "favorited": None,
            "walk": 10_100,
            "offset": 10_000,
            "limit": 100,
            **READER,
        },
    ),
    (
        "articles_page_by_favorited",
        {
            "favorited": "user-7.7",
            "tag": None,
            "walk": 10_001,
            "offset": 0,
            "limit": 20,
            "reader_id": None,
            "reader_version": None,
        },
    ),
    ("articles_page", {"walk": 10_100, "offset": 10_000, "limit": 100, **READER}),
    ("users_page", {"after_id": 400, "limit": 101, **READER}),
    ("users_page", {"after_id": 0, "limit": 21, "reader_id": None, "reader_version": None}),
    (
        "comments_page",
        {
            "blog_id": 1234,
            "slug": None,
            "after_id": 5000,
            "limit": 101,
            "reader_id": None,
            "reader_version": None,
        },
    ),
    (
        "comments_page",
        {"blog_id": None, "slug": "title-1234-1234", "after_id": 0, "limit": 21, **READER},
    ),
]


def test_every_query_file_has_a_sample() -> None:
    assert set(load_all()) == set(SAMPLES)


def test_parameters_are_named_where_used_and_numbered_by_first_use() -> None:
    query = parse("q", "-- read-only: yes\nSELECT :b::int - :a::int + :b::int")
    assert query.params == ("b", "a")
    assert query.sql == "-- read-only: yes\nSELECT $1::int - $2::int + $1::int"
    assert query.args({"a": 1, "b": 5}) == [5, 1]


@pytest.mark.parametrize("values", [{}, {"b": 1}, {"a": 1, "b": 2, "c": 3}])
def test_missing_or_unknown_parameters_are_refused(values: dict[str, int]) -> None:
    query = parse("q", "-- read-only: yes\nSELECT :a::int + :b::int")
    with pytest.raises(TypeError, match="query q takes a, b"):
        query.args(values)


# Text that holds a colon before a name without naming a parameter: casts, string literals of
# every kind, quoted identifiers and comments, each next to the one real parameter :a.
NOT_PARAMETERS = """-- read-only: yes
-- :in_a_header_comment
SELECT :a::int AS a,                    -- :in_a_line_comment
       now()::date::text AS cast_chain,
       '{1,2}'::int[] AS array_cast,
       ':in_a_string' AS s1,
       'it''s :still_a_string' AS s2,
       E'escaped \\' :and_a_string' AS s3,
       $$ :dollar_quoted $$ AS s4,
       $tag$ :tagged $tag$ AS s5,
       1 AS ":quoted_identifier",
       /* :in_a /* nested :block */ comment */ :a::int + 1 AS b
"""


def test_casts_strings_identifiers_and_comments_are_never_parameters() -> None:
    query = parse("q", NOT_PARAMETERS)
    assert query.params == ("a",)
    assert query.sql.count("$1") == 2
    for kept in ("::date::text", "::int[]", "':in_a_string'", ":dollar_quoted", ":tagged"):
        assert kept in query.sql


async def test_a_statement_with_casts_and_strings_runs_as_written(raw: asyncpg.Connection) -> None:
    row = await raw.fetchrow(parse("q", NOT_PARAMETERS).sql, 41)
    assert dict(row) | {"cast_chain": None} == {
        "a": 41,
        "cast_chain": None,
        "array_cast": [1, 2],
        "s1": ":in_a_string",
        "s2": "it's :still_a_string",
        "s3": "escaped ' :and_a_string",
        "s4": " :dollar_quoted ",
        "s5": " :tagged ",
        ":quoted_identifier": 1,
        "b": 42,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT\n  $1", r"sql/queries/q\.sql:3: \$1 is never bound"),
        ("SELECT :'a'", r"sql/queries/q\.sql:2: write the parameter a as :a"),
        ("-- params: a\nSELECT :a", r"sql/queries/q\.sql:2: '-- params:' is gone"),
    ],
)
def test_positional_or_psql_quoted_parameters_are_refused_at_their_line(
    text: str, message: str
) -> None:
    with pytest.raises(QueryFileError, match=message):
        parse("q", "-- read-only: yes\n" + text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "-- read-only:\nSELECT 1",
        "-- read-only: maybe\nSELECT 1",
        "-- read-only: YES\nSELECT 1",
        "-- read-only: yes please\nSELECT 1",
        "-- read only: yes\nSELECT 1",
        "SELECT 1 -- read-only: yes",
    ],
)
def test_a_missing_or_bad_read_only_header_is_refused(text: str) -> None:
    # Whether a statement may be retried is declared, never guessed from its text.
    with pytest.raises(ValueError, match="needs '-- read-only: yes' or 'no'"):
        parse("q", text)


@pytest.mark.parametrize(
    ("text", "read_only"),
    [
        ("-- read-only: yes\n-- Never DELETE or UPDATE anything here.\nSELECT 1", True),
        ("-- read-only: yes\nSELECT 'DELETE FROM users' AS text", True),
        ("-- read-only: no\nSELECT 1", False),
        (
            "-- read-only:   no  \n-- A plain SELECT that the file says to treat as a write.\n"
            "SELECT 1",
            False,
        ),
    ],
)
def test_read_only_comes_from_the_header_alone(text: str, read_only: bool) -> None:
    assert parse("q", text).read_only is read_only


def test_a_plan_header_asks_for_custom_plans_or_is_refused() -> None:
    assert parse("q", "-- read-only: yes\nSELECT 1").custom_plan is False
    assert parse("q", "-- read-only: yes\n-- plan: custom\nSELECT 1").custom_plan is True
    with pytest.raises(ValueError, match="'-- plan:' can only be custom"):
        parse("q", "-- read-only: yes\n-- plan: generic\nSELECT 1")


def test_load_all_reads_every_file(tmp_path: Path) -> None:
    (tmp_path / "one.sql").write_text("-- read-only: yes\nSELECT :id::int")
    (tmp_path / "two.sql").write_text("-- read-only: no\nSELECT 2")
    (tmp_path / PARTS).mkdir()
    (tmp_path / PARTS / "piece.sql").write_text("-- A part, never a query of its own.\n1")
    assert load_all(tmp_path) == {
        "one": Query(
            name="one", sql="-- read-only: yes\nSELECT $1::int", params=("id",), read_only=True
        ),
        "two": Query(name="two", sql="-- read-only: no\nSELECT 2", params=(), read_only=False),
    }


def test_a_file_without_a_read_only_header_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "bad.sql").write_text("SELECT :id::int")
    with pytest.raises(ValueError, match=r"sql/queries/bad\.sql"):
        load_all(tmp_path)


def _write_parts(directory: Path, **parts: str) -> Path:
    (directory / PARTS).mkdir(exist_ok=True)
    for name, text in parts.items():
        (directory / PARTS / f"{name}.sql").write_text(text)
    return directory / PARTS


def test_an_include_line_is_replaced_by_its_part_indented_as_the_line(tmp_path: Path) -> None:
    parts = _write_parts(
        tmp_path,
        pair="-- Two columns.\n-- What they are for.\n:x::int AS x,\n-- include: inner\n",
        inner="-- The second.\n:y::int + :x::int AS y",
    )
    text = "-- read-only: yes\nSELECT 0 AS w,\n       -- include: pair\nFROM (VALUES (:x)) AS v"
    query = parse("q", text, parts)
    assert query.sql == (
        "-- read-only: yes\nSELECT 0 AS w,\n       $1::int AS x,\n       $2::int + $1::int AS y\n"
        "FROM (VALUES ($1)) AS v"
    )
    assert query.params == ("x", "y")


def test_an_include_may_bind_the_part_s_parameters(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path, pick="WHERE (:who::int IS NULL OR id = :who) AND n < :cap")
    by_user = parse("q", "-- read-only: yes\nSELECT 1\n-- include: pick with who = :user_id", parts)
    assert by_user.sql.endswith("WHERE ($1::int IS NULL OR id = $1) AND n < $2")
    assert by_user.params == ("user_id", "cap")
    anyone = parse(
        "q", "-- read-only: yes\nSELECT 1\n-- include: pick with who = NULL, cap = 5", parts
    )
    assert anyone.sql.endswith("WHERE (NULL::int IS NULL OR id = NULL) AND n < 5")
    assert anyone.params == ()


async def test_the_service_s_parts_compile_into_statements_that_run(
    raw: asyncpg.Connection,
) -> None:
    for name, query in load_all().items():
        assert "-- include:" not in query.sql, name
        await raw.prepare(query.sql)


@pytest.mark.parametrize(
    ("text", "parts", "message"),
    [
        (
            "SELECT 1\n-- include: nowhere",
            {"here": "1"},
            r"sql/queries/q\.sql:3: unknown include 'nowhere': no _parts/nowhere\.sql "
            r"\(there are: here\)",
        ),
        (
            "SELECT 1\n-- include: outer",
            {"outer": "-- Wraps.\n\n1 +\n-- include: missing"},
            r"sql/queries/_parts/outer\.sql:4: unknown include 'missing'",
        ),
        (
            "SELECT\n-- include: p with b = :c",
            {"p": ":a"},
            r"sql/queries/q\.sql:3: unused parameter: the include binds b, which p never uses",
        ),
        (
            "SELECT\n-- include: p",
            {"p": "-- Says what it is.\n:a +\n$1"},
            r"sql/queries/_parts/p\.sql:3: \$1 is never bound",
        ),
        (
            "SELECT\n-- include: p with a = now()",
            {"p": ":a"},
            r"sql/queries/q\.sql:3: bad binding 'a = now\(\)'",
        ),
        (
            "SELECT\n-- include: p",
            {"p": "-- read-only: no\n1"},
            r"sql/queries/_parts/p\.sql:1: a part has no header lines",
        ),
        (
            "SELECT\n-- include: p",
            {"p": "1 +\n-- include: p"},
            r"sql/queries/_parts/p\.sql:2: p includes itself",
        ),
        ("SELECT\n-- include: Bad Name", {}, r"sql/queries/q\.sql:3: write '-- include: NAME'"),
    ],
)
def test_a_bad_include_is_refused_at_its_file_and_line(
    tmp_path: Path, text: str, parts: dict[str, str], message: str
) -> None:
    with pytest.raises(QueryFileError, match=message):
        parse("q", "-- read-only: yes\n" + text, _write_parts(tmp_path, **parts))


def test_the_service_s_queries_are_loaded() -> None:
    assert set(queries.BLOG_DETAIL.params) == {"id", "reader_id", "reader_version"}
    assert queries.BLOG_DETAIL.read_only and not queries.BLOG_CREATE.read_only
    assert queries.BLOGS_SEARCH.custom_plan


# 50,000 blogs by 500 users, with tags, follows and favorites.
SEEDED = (
    "INSERT INTO users (name, email, password_hash) "
    "SELECT 'user ' || n, 'plan' || n || '@example.com', 'x' FROM generate_series(1, 500) n",
    "INSERT INTO blogs (user_id, title, body, created_at) "
    "SELECT u.id, 'title ' || n, repeat('b', 200), now() - n * interval '1 minute' "
    "FROM generate_series(1, 50000) n "
    "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users) u ON u.k = n % 500",
    # 50 tags, two on each blog; user 7 follows 50 users; about 50,000 favorites (user 7: 500
    # blogs; every other user: the 100 blogs of the next author). The counters are set once at
    # the end rather than by their triggers, a row update per link.
    "SET session_replication_role = replica",
    "INSERT INTO tags (name) SELECT 'tag' || n FROM generate_series(0, 49) n",
    "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
    "SELECT b.id, t.id, b.created_at FROM blogs b "
    "JOIN tags t ON t.name IN ('tag' || b.id % 50, 'tag' || (b.id + 7) % 50)",
    "INSERT INTO follows (follower_id, followed_id) "
    "SELECT 7, id FROM users WHERE id <> 7 ORDER BY id LIMIT 50",
    "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
    "SELECT 7, id, created_at FROM blogs WHERE id % 100 = 0",
    "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
    "SELECT u.id, b.id, b.created_at FROM users u JOIN blogs b ON b.user_id = u.id % 500 + 1 "
    "WHERE u.id <> 7 "
    "ON CONFLICT DO NOTHING",
    "RESET session_replication_role",
    "UPDATE tags SET blog_count = (SELECT count(*) FROM blog_tags WHERE tag_id = tags.id)",
    "UPDATE blogs SET favorites_count = f.n "
    "FROM (SELECT blog_id, count(*) AS n FROM favorites GROUP BY blog_id) f WHERE f.blog_id = id",
)


@pytest.fixture(scope="module")
async def seeded_url(server_url: str) -> AsyncIterator[str]:
    async with seeded_database(server_url, *SEEDED) as url:
        yield url


@pytest.fixture
async def seeded(seeded_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with rolled_back(seeded_url) as conn:
        yield conn


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_every_query_runs_with_sample_parameters(raw: asyncpg.Connection, name: str) -> None:
    query = load_all()[name]
    await raw.fetch(query.sql, *query.args(SAMPLES[name]))
    plan = await raw.fetchval("EXPLAIN (FORMAT JSON) " + query.sql, *query.args(SAMPLES[name]))
    assert json.loads(plan)[0]["Plan"]["Node Type"]


# The large tables here (follows and comments have plan tests of their own at scale; a blog's
# own tags, at most MAX_TAGS, may be sorted).
GROWING = {"blogs", "blog_tags", "favorites"}


def _problems(plan: dict[str, Any]) -> list[str]:
    return plan_problems(plan, GROWING)


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_no_query_scans_or_sorts_blogs_their_tags_or_favorites(
    seeded: asyncpg.Connection, plan_cache_mode: str
) -> None:
    await seeded.execute(f"SET LOCAL plan_cache_mode = {plan_cache_mode}")
    found = {}
    for number, (name, params) in enumerate(VARIANTS):
        query = load_all()[name]
        if query.custom_plan:
            continue  # planned for each call's words: tests/test_blogs_search.py
        plan = await prepared_plan(seeded, query.sql, query.args(params), name=f"plan_{number}")
        reads_blogs = any(node.get("Relation Name") == "blogs" for node in plan_nodes(plan))
        if plan_cache_mode == "force_generic_plan" and query.params and reads_blogs:
            # Proof that this is the generic plan: parameters appear unsubstituted (in the
            # conditions on blogs; EXPLAIN does not show every use, e.g. a LIMIT's).
            assert re.search(r"\$\d", json.dumps(plan)), name
        if problems := _problems(plan):
            found[f"{name} {params}"] = (problems, plan)
    assert found == {}


def _favorites_read_whole(plan: dict[str, Any], in_subplan: bool = False) -> list[str]:
    """Favorites read in a per-row subplan by the reader alone, not by (reader, blog): the
    planner's hashed alternative of an `EXISTS`, which reads every favorite of the reader once
    per statement, so a reader with 100,000 favorites makes every page of theirs read 100,000
    rows."""
    in_subplan = in_subplan or plan.get("Parent Relationship") == "SubPlan"
    found = []
    by_blog = "blog_id" in plan.get("Index Cond", "")
    if in_subplan and plan.get("Relation Name") == "favorites" and not by_blog:
        found.append(f"{plan['Node Type']} of all the reader's favorites")
    for child in plan.get("Plans", []):
        found += _favorites_read_whole(child, in_subplan)
    return found


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_reader_s_favorites_are_probed_per_blog_never_read_whole(
    seeded: asyncpg.Connection, plan_cache_mode: str
) -> None:
    # A reader with many favorites: what PostgreSQL's statistics do not show when it plans.
    await seeded.execute(
        "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
        "SELECT 9, id, created_at FROM blogs WHERE id % 5 = 1 ON CONFLICT DO NOTHING"
    )
    await seeded.execute(f"SET LOCAL plan_cache_mode = {plan_cache_mode}")
    found = {}
    for number, (name, params) in enumerate(VARIANTS):
        query = load_all()[name]
        if "reader_id" not in query.params:
            continue
        values = params | {"reader_id": 9, "reader_version": 0}
        plan = await prepared_plan(seeded, query.sql, query.args(values), name=f"fav_{number}")
        if problems := _favorites_read_whole(plan):
            found[f"{name} {params}"] = problems
    assert found == {}


def test_the_plan_check_can_fail() -> None:
    scan = {"Node Type": "Seq Scan", "Relation Name": "blogs"}
    assert _problems(scan) == ["sequential scan of blogs"]
    assert _problems({"Node Type": "Sort", "Plans": [scan]}) == [
        "sort over blogs",
        "sequential scan of blogs",
    ]
    walk = {"Node Type": "Index Scan", "Relation Name": "blogs"}
    newest = {"Node Type": "Limit", "Plans": [walk]}
    assert (
        _problems({"Node Type": "Sort", "Plans": [{"Node Type": "Nested Loop", "Plans": [newest]}]})
        == []
    )
    assert _problems(
        {"Node Type": "Sort", "Plans": [{"Node Type": "Nested Loop", "Plans": [walk]}]}
    ) == ["sort over blogs"]
    # A tag's links, sorted: grows with the tag; one blog's tags, sorted: at most MAX_TAGS.
    links = {"Node Type": "Index Only Scan", "Relation Name": "blog_tags"}
    tag_links = links | {"Index Cond": "((tag_id = t.id) AND (ROW(blog_created_at, blog_id) < $2))"}
    blog_links = links | {"Index Cond": "(blog_id = b.id)"}
    assert _problems({"Node Type": "Sort", "Plans": [tag_links]}) == ["sort over blog_tags"]
    assert _problems({"Node Type": "Sort", "Plans": [blog_links]}) == []


def test_only_reads_are_read_only() -> None:
    statements = load_all()
    assert {name for name, query in statements.items() if not query.read_only} == {
        "blog_create",
        "favorite_add",
        "favorite_remove",
        "blog_update",
        "blog_delete",
        "follow",
        "unfollow",
        "comment_create",
        "comment_delete",
        "rate_limit_hit",
        "rate_limit_forgive",
        "rate_limit_sweep",
    }


def test_only_the_searches_are_planned_per_call() -> None:
    statements = load_all()
    assert {name for name, query in statements.items() if query.custom_plan} == {
        "blogs_search",
        "blogs_search_by_author",
    }


# Every statement that shows blogs: each row ends with the card's columns, in the card's order
# (after what the statement adds: a count and a number, or the search's resume flag).
SHOW_BLOGS = (
    "articles_feed",
    "articles_page",
    "articles_page_by_author",
    "articles_page_by_favorited",
    "articles_page_by_tag",
    "blog_by_slug",
    "blog_create",
    "blog_detail",
    "blog_update",
    "blogs_feed",
    "blogs_page",
    "blogs_page_by_author",
    "blogs_page_by_tag",
    "blogs_search",
    "blogs_search_by_author",
)


async def test_every_statement_showing_a_blog_shows_the_card(raw: asyncpg.Connection) -> None:
    async def columns(query: Query) -> list[str]:
        return [a.name for a in (await raw.prepare(query.sql)).get_attributes()]

    card = await columns(queries.BLOG_DETAIL)
    assert card[-2:] == ["owner_image", "owner_following"]
    named = load_all()
    shown = {name: await columns(named[name]) for name in SHOW_BLOGS}
    assert {name: cols[-len(card) :] for name, cols in shown.items()} == dict.fromkeys(
        SHOW_BLOGS, card
    )


async def test_the_realworld_lists_read_no_body_and_the_native_lists_an_excerpt(
    seeded: asyncpg.Connection,
) -> None:
    named = load_all()

    async def bodies(name: str) -> list[str]:
        rows = await seeded.fetch(named[name].sql, *named[name].args(SAMPLES[name]))
        return [row["body"] for row in rows if row["id"] is not None]

    assert await bodies("blogs_page") == ["b" * 200] * 21
    for name in ("articles_page", "articles_page_by_tag", "articles_feed"):
        assert await bodies(name) == [""] * 20, name
