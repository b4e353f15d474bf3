"""Comments on blogs: /blogs/{blog_id}/comments.

Blogs, extra users, comments and follows are written with SQL on the test's connection; the
users who need a token sign up through the API.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from service.db import queries
from service.db.queries import Query, parse
from service.testing.accounts import Account, SignUp, sign_up_with
from service.testing.databases import ScratchDatabase, connect
from service.testing.plans import plan_nodes
from tests.support.api import walk_pages
from tests.support.project import APP_NAME
from tests.support.servers import in_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

COMMENT_KEYS = {"id", "body", "created_at", "updated_at", "author"}


async def _blog(raw: asyncpg.Connection, owner_id: int, title: str = "A blog") -> int:
    blog_id: int = await raw.fetchval(
        "INSERT INTO blogs (user_id, title, body) VALUES ($1, $2, 'text') RETURNING id",
        owner_id,
        title,
    )
    return blog_id


async def _user(raw: asyncpg.Connection, name: str = "Someone") -> int:
    user_id: int = await raw.fetchval(
        "INSERT INTO users (name, email, password_hash) "
        "VALUES ($1, gen_random_uuid() || '@example.com', 'x') RETURNING id",
        name,
    )
    return user_id


async def _seed_comments(
    raw: asyncpg.Connection, blog_id: int, author_ids: list[int], count: int
) -> list[int]:
    """`count` comments on the blog, by the authors in turn; their ids, oldest first."""
    rows = await raw.fetch(
        "INSERT INTO comments (blog_id, user_id, body) "
        "SELECT $1, ($2::bigint[])[1 + n % cardinality($2::bigint[])], 'comment ' || n "
        "FROM generate_series(1, $3) n RETURNING id",
        blog_id,
        author_ids,
        count,
    )
    return sorted(row["id"] for row in rows)


async def _comment_count(raw: asyncpg.Connection, **where: int) -> int:
    conditions = " AND ".join(f"{column} = ${n}" for n, column in enumerate(where, 1))
    count: int = await raw.fetchval(
        f"SELECT count(*) FROM comments WHERE {conditions or 'true'}", *where.values()
    )
    return count


async def _comment(
    client: AsyncClient, account: Account, blog_id: int, body: str = "Nice post"
) -> dict[str, Any]:
    response = await client.post(
        f"/blogs/{blog_id}/comments", json={"body": body}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    comment: dict[str, Any] = response.json()
    return comment


# --- writing, reading, deleting ----------------------------------------------------------------


async def test_comment_list_and_delete(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up(name="Owner")
    reader = await sign_up(name="Bea")
    blog_id = await _blog(raw, owner.id)

    comment = await _comment(client, reader, blog_id, body="  Nice post  ")
    assert comment.keys() == COMMENT_KEYS
    assert comment["body"] == "Nice post"
    assert comment["created_at"] == comment["updated_at"]
    username = await raw.fetchval("SELECT username FROM users WHERE id = $1", reader.id)
    assert comment["author"] == {
        "id": reader.id,
        "name": "Bea",
        "username": username,
        "bio": None,
        "image": None,
        "following": False,
    }

    listed = await client.get(f"/blogs/{blog_id}/comments")
    assert listed.status_code == 200
    assert listed.json() == {"items": [comment], "next_cursor": None}

    path = f"/blogs/{blog_id}/comments/{comment['id']}"
    deleted = await client.delete(path, headers=reader.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert await _comment_count(raw, blog_id=blog_id) == 0
    assert (await client.get(f"/blogs/{blog_id}/comments")).json() == {
        "items": [],
        "next_cursor": None,
    }
    # Once gone, it is gone.
    assert (await client.delete(path, headers=reader.headers)).status_code == 404


async def test_the_author_s_profile_shows_bio_and_image(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    await raw.execute(
        "UPDATE users SET bio = 'Writes.', image = 'https://example.com/a.png' WHERE id = $1",
        account.id,
    )
    blog_id = await _blog(raw, account.id)
    written = await _comment(client, account, blog_id)
    assert written["author"]["bio"] == "Writes."
    assert written["author"]["image"] == "https://example.com/a.png"
    listed = (await client.get(f"/blogs/{blog_id}/comments")).json()["items"]
    assert listed == [written]


async def test_commenting_needs_a_valid_token(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    blog_id = await _blog(raw, owner.id)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.post(
            f"/blogs/{blog_id}/comments", json={"body": "hi"}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert await _comment_count(raw, blog_id=blog_id) == 0


async def test_a_deleted_author_s_token_cannot_comment(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    gone = await sign_up()
    blog_id = await _blog(raw, owner.id)
    await raw.execute("DELETE FROM users WHERE id = $1", gone.id)
    response = await client.post(
        f"/blogs/{blog_id}/comments", json={"body": "hi"}, headers=gone.headers
    )
    assert response.status_code == 401
    assert await _comment_count(raw, blog_id=blog_id) == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": ""},
        {"body": "   "},
        {"body": " \t\n\u00a0\u3000 "},
        {"body": "x" * 10_001},
        {"body": " " + "x" * 10_001 + " "},
        {"body": None},
        {"body": 5},
        {"body": "nul \x00 byte"},
        {"body": "hi", "user_id": 1},
    ],
    ids=[
        "missing",
        "empty",
        "spaces",
        "whitespace",
        "too-long",
        "too-long-trimmed",
        "null",
        "number",
        "nul",
        "extra-field",
    ],
)
async def test_invalid_comments_are_422_and_write_nothing(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection, body: dict[str, Any]
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    response = await client.post(f"/blogs/{blog_id}/comments", json=body, headers=account.headers)
    assert response.status_code == 422, response.text
    assert await _comment_count(raw, blog_id=blog_id) == 0


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"body": "\xff\xfe"}', 400),
        (b"[" * 100_000, 400),
        # Valid JSON, but no valid Unicode string holds a lone surrogate.
        (b'{"body": "a\\ud800b"}', 422),
    ],
    ids=["not-utf-8", "nested-100k", "lone-surrogate"],
)
async def test_unparsable_bodies_are_refused_and_write_nothing(
    lenient: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection, content: bytes, status: int
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    response = await lenient.post(
        f"/blogs/{blog_id}/comments",
        content=content,
        headers=account.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == status, response.text
    assert await _comment_count(raw, blog_id=blog_id) == 0


async def test_the_longest_comment_fits(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    comment = await _comment(client, account, blog_id, body=" " + "é" * 10_000 + "\n")
    assert comment["body"] == "é" * 10_000


async def test_a_body_over_the_request_limit_is_413(
    client: AsyncClient, app: FastAPI, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    padding = " " * (app.state.settings.max_body_bytes + 1)
    response = await client.post(
        f"/blogs/{blog_id}/comments",
        content=f'{{"body": "hi"{padding}}}'.encode(),
        headers=account.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert await _comment_count(raw, blog_id=blog_id) == 0


# --- pages -------------------------------------------------------------------------------------


async def test_pages_walk_every_comment_once_oldest_first(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    others = [await _user(raw, f"User {n}") for n in range(3)]
    blog_id = await _blog(raw, owner.id)
    other_blog_id = await _blog(raw, owner.id, title="Another")
    ids = await _seed_comments(raw, blog_id, [owner.id, *others], 45)
    await _seed_comments(raw, other_blog_id, others, 7)

    items, pages = await walk_pages(client, f"/blogs/{blog_id}/comments", limit=10)
    assert [item["id"] for item in items] == ids
    assert pages == 5
    assert {item["author"]["id"] for item in items} == {owner.id, *others}

    # The default page size is 20; a page ending exactly on the last comment says so.
    first = (await client.get(f"/blogs/{blog_id}/comments")).json()
    assert [item["id"] for item in first["items"]] == ids[:20]
    _, pages = await walk_pages(client, f"/blogs/{blog_id}/comments", limit=15)
    assert pages == 3


async def test_comments_written_while_walking_are_met_at_the_end(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    ids = await _seed_comments(raw, blog_id, [account.id], 6)
    path = f"/blogs/{blog_id}/comments"
    first = (await client.get(path, params={"limit": 4})).json()
    newer = await _comment(client, account, blog_id)
    rest = (await client.get(path, params={"limit": 4, "cursor": first["next_cursor"]})).json()
    seen = [item["id"] for item in first["items"] + rest["items"]]
    assert seen == [*ids, newer["id"]]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "x" * 201}]
)
async def test_invalid_list_parameters_are_422(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection, params: dict[str, Any]
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    response = await client.get(f"/blogs/{blog_id}/comments", params=params)
    assert response.status_code == 422


async def test_a_tampered_or_foreign_cursor_is_422(
    client: AsyncClient, app: FastAPI, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    await _seed_comments(raw, blog_id, [account.id], 5)
    path = f"/blogs/{blog_id}/comments"
    cursor = (await client.get(path, params={"limit": 2})).json()["next_cursor"]
    payload, signature = cursor.split(".")
    blog_cursor = app.state.cursors.encode(2**50, 1)  # a blog list's (created_at, id)
    for bad in (payload + "." + signature[::-1], cursor + "x", payload, blog_cursor):
        response = await client.get(path, params={"cursor": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert (await client.get(path, params={"cursor": cursor})).status_code == 200


async def test_a_page_carries_an_etag_and_answers_304(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    await _seed_comments(raw, blog_id, [account.id], 3)
    path = f"/blogs/{blog_id}/comments"
    first = await client.get(path)
    etag = first.headers["etag"]
    cached = await client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    await _comment(client, account, blog_id)
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 200


# --- following ---------------------------------------------------------------------------------


async def test_following_shows_whether_the_reader_follows_each_author(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up(name="Owner")
    reader = await sign_up(name="Reader")
    followed, unfollowed = await _user(raw, "Followed"), await _user(raw, "Unfollowed")
    blog_id = await _blog(raw, owner.id)
    await _seed_comments(raw, blog_id, [followed, unfollowed], 4)
    await raw.execute(
        "INSERT INTO follows (follower_id, followed_id) VALUES ($1, $2)", reader.id, followed
    )
    path = f"/blogs/{blog_id}/comments"

    def following(response: Response) -> dict[int, bool]:
        assert response.status_code == 200, response.text
        return {
            item["author"]["id"]: item["author"]["following"] for item in response.json()["items"]
        }

    assert following(await client.get(path, headers=reader.headers)) == {
        followed: True,
        unfollowed: False,
    }
    assert following(await client.get(path)) == {followed: False, unfollowed: False}
    # Following is the reader's own: the owner follows nobody.
    assert following(await client.get(path, headers=owner.headers)) == {
        followed: False,
        unfollowed: False,
    }
    # A token from before a password change reads as anonymous.
    await raw.execute("UPDATE users SET token_version = token_version + 1 WHERE id = $1", reader.id)
    assert following(await client.get(path, headers=reader.headers)) == {
        followed: False,
        unfollowed: False,
    }


async def test_a_bad_token_on_a_read_is_401(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    response = await client.get(
        f"/blogs/{blog_id}/comments", headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401


# --- who may delete ----------------------------------------------------------------------------


async def test_the_author_and_the_blog_s_owner_may_delete_others_may_not(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up(name="Owner")
    author = await sign_up(name="Author")
    stranger = await sign_up(name="Stranger")
    blog_id = await _blog(raw, owner.id)
    first = await _comment(client, author, blog_id, "first")
    second = await _comment(client, author, blog_id, "second")

    def path(comment: dict[str, Any]) -> str:
        return f"/blogs/{blog_id}/comments/{comment['id']}"

    refused = await client.delete(path(first), headers=stranger.headers)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "only the comment's author or the blog's owner may delete it"
    }
    assert (await client.delete(path(first))).status_code == 401
    assert await _comment_count(raw, blog_id=blog_id) == 2

    assert (await client.delete(path(first), headers=author.headers)).status_code == 204
    assert (await client.delete(path(second), headers=owner.headers)).status_code == 204
    assert await _comment_count(raw, blog_id=blog_id) == 0


# --- not found ---------------------------------------------------------------------------------


async def test_an_unknown_blog_is_404(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    path = "/blogs/999999999/comments"
    listed = await client.get(path)
    assert listed.status_code == 404
    assert listed.json() == {"detail": "blog not found"}
    assert (await client.get(path, headers=account.headers)).status_code == 404
    written = await client.post(path, json={"body": "hi"}, headers=account.headers)
    assert written.status_code == 404
    assert written.json() == {"detail": "blog not found"}
    assert (await client.delete(f"{path}/1", headers=account.headers)).status_code == 404


async def test_a_page_past_the_last_comment_is_empty_not_404(
    client: AsyncClient, app: FastAPI, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    blog_id = await _blog(raw, account.id)
    ids = await _seed_comments(raw, blog_id, [account.id], 2)
    beyond = app.state.cursors.encode(ids[-1] + 1000)
    response = await client.get(f"/blogs/{blog_id}/comments", params={"cursor": beyond})
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_a_comment_of_another_blog_or_an_unknown_one_is_404(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    blog_id = await _blog(raw, owner.id)
    other_blog_id = await _blog(raw, owner.id, title="Other")
    comment = await _comment(client, owner, other_blog_id)
    for path in (
        f"/blogs/{blog_id}/comments/{comment['id']}",
        f"/blogs/{blog_id}/comments/999999999",
    ):
        response = await client.delete(path, headers=owner.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "comment not found"}
    assert await _comment_count(raw, id=comment["id"]) == 1


async def test_a_deleted_blog_s_comments_are_gone_and_it_takes_no_more(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    author = await sign_up()
    blog_id = await _blog(raw, owner.id)
    comment = await _comment(client, author, blog_id)
    await raw.execute("DELETE FROM blogs WHERE id = $1", blog_id)

    path = f"/blogs/{blog_id}/comments"
    assert (await client.get(path)).status_code == 404
    written = await client.post(path, json={"body": "late"}, headers=author.headers)
    assert written.status_code == 404
    assert await _comment_count(raw, user_id=author.id) == 0
    deleted = await client.delete(f"{path}/{comment['id']}", headers=author.headers)
    assert deleted.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/blogs/0/comments"),
        ("GET", f"/blogs/{2**63}/comments"),
        ("POST", "/blogs/0/comments"),
        ("DELETE", "/blogs/0/comments/1"),
        ("DELETE", "/blogs/1/comments/0"),
        ("DELETE", f"/blogs/1/comments/{2**63}"),
        ("DELETE", "/blogs/1/comments/abc"),
    ],
)
async def test_bad_ids_are_422(
    client: AsyncClient, sign_up: SignUp, method: str, path: str
) -> None:
    account = await sign_up()
    response = await client.request(method, path, json={"body": "hi"}, headers=account.headers)
    assert response.status_code == 422, response.text


# --- cost --------------------------------------------------------------------------------------


@asynccontextmanager
async def _statements(raw: asyncpg.Connection) -> AsyncIterator[list[str]]:
    """Every statement sent on the connection inside the block (asyncpg's query logger)."""
    sent: list[str] = []
    with raw.query_logger(lambda record: sent.append(record.query)):
        yield sent
        await asyncio.sleep(0)  # the logger's callbacks run on the next loop iteration


async def test_a_page_of_20_comments_costs_one_statement(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    owner = await sign_up()
    reader = await sign_up()
    authors = [await _user(raw, f"Author {n}") for n in range(5)]
    blog_id = await _blog(raw, owner.id)
    await _seed_comments(raw, blog_id, authors, 30)
    await raw.execute(
        "INSERT INTO follows (follower_id, followed_id) VALUES ($1, $2)", reader.id, authors[0]
    )
    path = f"/blogs/{blog_id}/comments"
    for headers in ({}, reader.headers):
        async with _statements(raw) as sent:
            response = await client.get(path, params={"limit": 20}, headers=headers)
        assert response.status_code == 200
        items = response.json()["items"]
        assert len(items) == 20
        following = {item["author"]["following"] for item in items}
        assert following == ({True, False} if headers else {False})
        assert len(sent) == 1, sent


async def test_an_empty_page_and_an_unknown_blog_cost_one_statement_each(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    account = await sign_up()
    quiet = await _blog(raw, account.id)
    for path, status in ((f"/blogs/{quiet}/comments", 200), ("/blogs/999999999/comments", 404)):
        async with _statements(raw) as sent:
            response = await client.get(path, headers=account.headers)
        assert response.status_code == status
        assert response.json() == (
            {"items": [], "next_cursor": None} if status == 200 else {"detail": "blog not found"}
        )
        assert len(sent) == 1, sent


# --- races, with real commits --------------------------------------------------------------------


async def _blocked_behind(url: str, request: Awaitable[Response]) -> asyncio.Task[Response]:
    """Start the request; return once the service's statement waits for a row lock."""
    task = asyncio.ensure_future(request)

    async def waiting() -> bool:
        async with connect(url) as conn:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = $1 "
                "AND wait_event_type = 'Lock'",
                APP_NAME,
            )
        return count > 0

    await eventually(waiting, within=10, what="the comment to wait for the row lock")
    return task


@pytest.mark.parametrize(
    ("deleted", "status"), [("blog", 404), ("author", 401)], ids=["blog", "author"]
)
async def test_a_deletion_committed_while_commenting_writes_nothing(
    scratch_database: ScratchDatabase, deleted: str, status: int
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=2) as client:
        owner = await sign_up_with(client, "Owner")
        author = await sign_up_with(client, "Author")
        async with connect(url) as conn:
            blog_id = await _blog(conn, owner.id)
            if deleted == "blog":
                sql, target = "DELETE FROM blogs WHERE id = $1", blog_id
            else:
                sql, target = "DELETE FROM users WHERE id = $1", author.id
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute(sql, target)
            # The service's snapshot still sees the row; its statement must wait for the lock.
            task = await _blocked_behind(
                url,
                client.post(
                    f"/blogs/{blog_id}/comments", json={"body": "hi"}, headers=author.headers
                ),
            )
            await transaction.commit()
            response = await task
            assert response.status_code == status, response.text
            assert await conn.fetchval("SELECT count(*) FROM comments") == 0


# --- the page's plan -----------------------------------------------------------------------------

# 20,000 comments spread over 999 blogs, then 5,000 newer ones on blog 1: a fifth of all comments,
# and all of them after the others.
PLAN_SEED = (
    "INSERT INTO users (name, email, password_hash) "
    "SELECT 'user ' || n, 'plan' || n || '@example.com', 'x' FROM generate_series(1, 100) n",
    "INSERT INTO blogs (user_id, title, body) "
    "SELECT 1 + n % 100, 'title ' || n, 'b' FROM generate_series(1, 1000) n",
    "INSERT INTO comments (blog_id, user_id, body) "
    "SELECT 2 + n % 999, 1 + n % 100, 'c' FROM generate_series(1, 20000) n",
    "INSERT INTO comments (blog_id, user_id, body) "
    "SELECT 1, 1 + n % 100, 'c' FROM generate_series(1, 5000) n",
    "VACUUM (ANALYZE) users, blogs, comments",
)

# The page as one would write it plainly.
PLAIN_PAGE = parse(
    "plain",
    "-- read-only: yes\n"
    "SELECT c.id, c.body FROM comments AS c WHERE c.blog_id = :blog_id AND c.id > :after_id "
    "ORDER BY c.id LIMIT :limit",
)


async def _comment_scans(
    conn: asyncpg.Connection, query: Query, params: dict[str, Any], plan_cache_mode: str
) -> list[tuple[str, str | None]]:
    """How the plan PostgreSQL makes under `plan_cache_mode` reads comments, and any sort."""
    await conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
    await conn.execute(f"PREPARE page AS {query.sql}")
    try:
        literals = ["NULL" if value is None else str(int(value)) for value in query.args(params)]
        explained = await conn.fetchval(
            f"EXPLAIN (FORMAT JSON) EXECUTE page({', '.join(literals)})"
        )
    finally:
        await conn.execute("DEALLOCATE page")
    if plan_cache_mode == "force_generic_plan":
        assert "$1" in explained  # planned without the values
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in plan_nodes(json.loads(explained)[0]["Plan"])
        if node.get("Relation Name") == "comments" or "Sort" in node["Node Type"]
    ]


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_a_page_walks_the_blog_s_comments_on_their_index(
    scratch_database: ScratchDatabase, plan_cache_mode: str
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        for statement in PLAN_SEED:
            await conn.execute(statement)
        page = {"blog_id": 1, "after_id": 0, "limit": 21}
        if plan_cache_mode == "force_custom_plan":
            # Written plainly, the page's plan for blog 1 walks every comment in id order,
            # looking for blog 1's: statistics say a fifth of them are.
            assert await _comment_scans(conn, PLAIN_PAGE, page, plan_cache_mode) == [
                ("Index Scan", "pk_comments")
            ]
        anonymous = {"slug": None, "reader_id": None, "reader_version": None}
        for params in (
            page,
            {"blog_id": 1, "after_id": 24_000, "limit": 101},
            {**page, "blog_id": 7},
        ):
            scans = await _comment_scans(
                conn, queries.COMMENTS_PAGE, params | anonymous, plan_cache_mode
            )
            assert scans == [("Index Scan", "ix_comments_blog_id_id")], params
