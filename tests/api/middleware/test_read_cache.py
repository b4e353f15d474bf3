"""The response cache in the app, on a scratch database that really commits (a rolled-back
transaction never notifies): what it stores (at a page's second sight) and what it never does,
and every write path dropping every page that shows what it changed, through the triggers and
the listener.

A stale page would be served until READ_CACHE_MAX_AGE_SECONDS, set to five minutes here, so a
missed invalidation fails these tests rather than ending in time.
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from service.api.app import create_app
from service.api.middleware.cache_admission import Doorkeeper
from service.api.middleware.cache_store import ResponseStore
from service.db.database import Database
from service.db.invalidations import InvalidationListener
from service.testing.accounts import Account, sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect
from tests.support.api import write_blog
from tests.support.project import PROJECT_ROOT
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

STALE_FOR_MINUTES = 300.0


@dataclass
class Cached:
    app: FastAPI
    client: AsyncClient
    store: ResponseStore
    url: str

    @property
    def listener(self) -> InvalidationListener:
        listener: InvalidationListener = self.app.state.read_cache_listener
        return listener

    async def settled(self) -> None:
        """Wait until the changes of every write committed so far are announced: a change queued
        now is announced with or after every change queued before it."""
        sequence = self.store.sequence
        async with connect(self.url) as conn:
            await conn.execute("SELECT read_cache_notify('{settled}')")

        async def in_() -> bool:
            return self.store.sequence > sequence

        await eventually(in_, within=5, what="the notifications to arrive")

    async def stored(self, path: str, **options: Any) -> httpx.Response:
        """GET `path` anonymously three times: a page is stored at its second sight (the first
        is only remembered), so the third answer comes from the cache."""
        await self.settled()
        first = await self.client.get(path, **options)
        assert first.status_code == 200, first.text
        second = await self.client.get(path, **options)
        assert (second.status_code, second.content) == (200, first.content)
        before = _hits()
        third = await self.client.get(path, **options)
        assert _hits() == before + 1, f"{path} was not answered from the cache"
        assert (third.status_code, third.content) == (200, first.content)
        return third

    async def shows(
        self, path: str, check: Callable[[httpx.Response], bool], *, within: float = 5
    ) -> None:
        async def shown() -> bool:
            return check(await self.client.get(path))

        await eventually(shown, within=within, what=f"{path} to show the change")


def _hits() -> float:
    return _lookups("hit")


def _lookups(result: str) -> float:
    value = REGISTRY.get_sample_value("blog_api_read_cache_lookups_total", {"result": result})
    return value or 0


def _stores(outcome: str) -> float:
    value = REGISTRY.get_sample_value("blog_api_read_cache_stores_total", {"outcome": outcome})
    return value or 0


@asynccontextmanager
async def cached_app(url: str, **settings: Any) -> AsyncIterator[Cached]:
    options: dict[str, Any] = {"read_cache": True, "read_cache_max_age_seconds": STALE_FOR_MINUTES}
    app = create_app(settings_for(url, **(options | settings)), database=Database(url))
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        store: ResponseStore = app.state.read_cache

        async def listening() -> bool:
            return store.listening

        await eventually(listening, within=10, what="the cache to listen")
        yield Cached(app, client, store, url)


@pytest.fixture
async def cached(scratch_database: ScratchDatabase) -> AsyncIterator[Cached]:
    async with cached_app(await scratch_database()) as cached:
        yield cached


@pytest.fixture
async def author(cached: Cached) -> Account:
    return await sign_up_with(cached.client, "Grace")


@pytest.fixture
async def blog(cached: Cached, author: Account) -> dict[str, Any]:
    response = await cached.client.post(
        "/blogs",
        json={"title": "Original", "body": "text", "tags": ["first"]},
        headers=author.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- what is stored, and what never is ---------------------------------------------------------


async def test_a_hit_is_the_apps_own_answer_with_vary_and_its_own_request_id(
    cached: Cached, blog: dict[str, Any]
) -> None:
    first = await cached.client.get(f"/blogs/{blog['id']}")
    hit = await cached.stored(f"/blogs/{blog['id']}")
    assert hit.headers["vary"] == "Authorization"
    assert hit.headers["etag"] == first.headers["etag"]
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["x-content-type-options"] == "nosniff"
    assert hit.headers["x-request-id"] != first.headers["x-request-id"]


async def test_a_page_is_stored_at_its_second_sight_and_answered_from_memory_at_its_third(
    cached: Cached, blog: dict[str, Any]
) -> None:
    path = f"/blogs/{blog['id']}"
    await cached.settled()
    misses, first_sights, stored = (
        _lookups("miss"),
        _stores("refused_first_sight"),
        _stores("stored"),
    )
    first = await cached.client.get(path)
    assert first.headers["vary"] == "Authorization"
    assert len(cached.store) == 0
    assert len(cached.store.doorkeeper) == 1
    assert _lookups("miss") == misses + 1
    assert (_stores("refused_first_sight"), _stores("stored")) == (first_sights + 1, stored)
    second = await cached.client.get(path)
    assert second.content == first.content
    assert len(cached.store) == 1
    assert _lookups("miss") == misses + 2
    assert (_stores("refused_first_sight"), _stores("stored")) == (first_sights + 1, stored + 1)
    hits = _hits()
    third = await cached.client.get(path)
    assert third.content == first.content
    assert (_hits(), _lookups("miss")) == (hits + 1, misses + 2)


async def test_one_off_query_strings_never_evict_the_pages_read_often(
    scratch_database: ScratchDatabase,
) -> None:
    """5,000 pages asked for once each, some 20 MB of answers against a 1 MiB budget: stored,
    they would push every other page out; seen once, none of them is."""
    async with cached_app(await scratch_database(), read_cache_max_mb=1) as cached:
        capacity = 1_000  # so the flood fills the doorkeeper and it starts over, five times
        cached.store.doorkeeper = Doorkeeper(capacity)
        author = await sign_up_with(cached.client, "Grace")
        blog = await write_blog(cached.client, author.headers, body="x" * 4_000)
        hot = [f"/blogs/{blog['id']}", "/blogs", f"/api/articles/{blog['slug']}"]
        for path in hot:
            await cached.stored(path)
        stored = _stores("stored")
        for n in range(5_000):
            response = await cached.client.get(f"/blogs/{blog['id']}?n={n}")
            assert response.status_code == 200
            assert len(cached.store.doorkeeper) <= capacity
        assert (len(cached.store), _stores("stored")) == (len(hot), stored)
        hits = _hits()
        for path in hot:
            assert (await cached.client.get(path)).status_code == 200
        assert _hits() == hits + len(hot)


async def test_a_page_dropped_for_a_change_is_stored_again_at_its_next_miss(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    """It was seen before the change: the doorkeeper still remembers it."""
    path = f"/blogs/{blog['id']}"
    await cached.stored(path)
    edited = await cached.client.patch(path, json={"title": "Edited"}, headers=author.headers)
    assert edited.status_code == 200
    await cached.settled()
    assert len(cached.store) == 0
    stored = _stores("stored")
    assert (await cached.client.get(path)).json()["title"] == "Edited"
    assert _stores("stored") == stored + 1
    hits = _hits()
    assert (await cached.client.get(path)).json()["title"] == "Edited"
    assert _hits() == hits + 1


async def test_if_none_match_gets_the_apps_304_from_the_cache(
    cached: Cached, blog: dict[str, Any]
) -> None:
    path = f"/blogs/{blog['id']}"
    etag = (await cached.stored(path)).headers["etag"]
    before = _hits()
    not_modified = await cached.client.get(path, headers={"If-None-Match": f"W/{etag}"})
    assert _hits() == before + 1
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert not_modified.headers["vary"] == "Authorization"
    # As the app itself answers it when the page is not cached.
    cached.store.invalidate(["*"])
    uncached = await cached.client.get(path, headers={"If-None-Match": etag})
    assert uncached.status_code == 304
    assert {k: v for k, v in uncached.headers.items() if k != "x-request-id"} == {
        k: v for k, v in not_modified.headers.items() if k != "x-request-id"
    }
    other = await cached.client.get(path, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


async def test_if_none_match_sent_twice_is_read_from_the_cache_as_the_app_reads_it(
    cached: Cached, blog: dict[str, Any]
) -> None:
    """Two If-None-Match lines: a hit answers what the app answers (it reads the first line)."""
    path = f"/blogs/{blog['id']}"
    etag = (await cached.stored(path)).headers["etag"]
    for lines in ([etag, '"other"'], ['"other"', etag]):
        headers = [("If-None-Match", line) for line in lines]
        before = _hits()
        hit = await cached.client.get(path, headers=headers)
        assert _hits() == before + 1
        uncached = await cached.client.get(path, headers=[*headers, ("Cookie", "a=b")])
        assert hit.status_code == uncached.status_code, lines


async def test_signed_in_reads_and_cookies_are_never_stored_nor_answered_from_the_cache(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    reader = await sign_up_with(cached.client, "Reader")
    path = f"/blogs/{blog['id']}"
    favorited = await cached.client.post(f"{path}/favorite", headers=reader.headers)
    assert favorited.status_code == 200
    await cached.shows(path, lambda r: r.json()["favorites_count"] == 1)
    anonymous = await cached.stored(path)
    assert anonymous.json()["favorited"] is False
    before = _hits()
    signed_in = await cached.client.get(path, headers=reader.headers)
    assert signed_in.json()["favorited"] is True
    assert signed_in.headers["vary"] == "Authorization"
    with_cookie = await cached.client.get(path, headers={"Cookie": "session=x"})
    assert with_cookie.status_code == 200
    assert _hits() == before

    cached.store.invalidate(["*"])
    for _ in range(2):
        await cached.client.get(path, headers=reader.headers)
        await cached.client.get(path, headers={"Cookie": "session=x"})
    assert len(cached.store) == 0


async def test_query_strings_the_app_answers_differently_never_share_an_entry(
    cached: Cached, author: Account
) -> None:
    for title in ("one", "two", "three"):
        await write_blog(cached.client, author.headers, title=title)
    paths = [
        "/blogs?limit=1&limit=2",
        "/blogs?limit=2&limit=1",
        "/blogs?limit=1",
        "/blogs?limit=2",
        "/blogs?limit=%31",
        "/api/articles?limit=1&offset=1",
        "/api/articles?offset=1&limit=2",
    ]
    expected = {path: (await cached.client.get(path)).json() for path in paths}
    for round_ in range(2):  # each is stored the first time round, a hit the second
        hits = _hits()
        for path in paths:
            assert (await cached.client.get(path)).json() == expected[path], path
        assert _hits() == hits + round_ * len(paths)
    assert len(cached.store) == len(paths)
    assert expected["/blogs?limit=1&limit=2"] != expected["/blogs?limit=2&limit=1"]


async def test_only_200s_of_public_reads_are_stored(cached: Cached, author: Account) -> None:
    paths = ("/blogs/999999", "/blogs/x", "/users", "/health", "/blogs/feed")
    for _ in range(2):
        for path in paths:
            await cached.client.get(path)
        await cached.client.get("/users/me", headers=author.headers)
    assert len(cached.store) == 0
    # Not remembered at their first sight either; were they (a page deleted after its first
    # read turns 404), the miss that follows stores nothing.
    assert len(cached.store.doorkeeper) == 0
    for path in paths:
        cached.store.doorkeeper.remember(f"{path}?".encode())
        await cached.client.get(path)
    assert len(cached.store) == 0


async def test_endless_distinct_query_strings_stay_within_the_byte_budget(
    scratch_database: ScratchDatabase,
) -> None:
    async with cached_app(await scratch_database(), read_cache_max_mb=1) as cached:
        author = await sign_up_with(cached.client, "Grace")
        blog = await write_blog(cached.client, author.headers, body="x" * 4_000)
        evicted = REGISTRY.get_sample_value(
            "blog_api_read_cache_evictions_total", {"reason": "budget"}
        )
        for n in range(600):
            for _ in range(2):  # stored at its second sight
                response = await cached.client.get(f"/blogs/{blog['id']}?n={n}")
                assert response.status_code == 200
                assert cached.store.bytes <= 1024 * 1024
        assert 100 < len(cached.store) < 300
        after = REGISTRY.get_sample_value(
            "blog_api_read_cache_evictions_total", {"reason": "budget"}
        )
        assert (after or 0) - (evicted or 0) >= 300


# --- the races ---------------------------------------------------------------------------------


async def test_a_read_that_began_before_a_committed_change_is_not_stored(
    cached: Cached, blog: dict[str, Any]
) -> None:
    """The app's answer is held at the edge while the change commits and its notification
    arrives; only then does the cache get to store it."""
    path = f"/blogs/{blog['id']}"
    await cached.client.get(path)  # its first sight: the next one is stored, race permitting
    refused = _stores("refused_race")
    announced = cached.store.sequence
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            async with connect(cached.url) as conn:
                await conn.execute("UPDATE blogs SET title = 'Changed' WHERE id = $1", blog["id"])

            async def announced_since() -> bool:
                return cached.store.sequence > announced

            await eventually(announced_since, within=5, what="the change to be announced")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    await cached.app(scope, receive, send)
    assert b'"Original"' in sent[-1]["body"]
    assert _stores("refused_race") == refused + 1
    assert (await cached.client.get(path)).json()["title"] == "Changed"


async def test_losing_the_listener_empties_and_bypasses_the_cache_until_it_listens_again(
    cached: Cached, blog: dict[str, Any]
) -> None:
    path = f"/blogs/{blog['id']}"
    await cached.stored(path)
    first_pid = cached.listener.backend_pid
    assert first_pid is not None
    async with connect(cached.url) as conn, conn.transaction():
        # The change commits while the listener is gone: its notification is never received.
        await conn.execute("UPDATE blogs SET title = 'Changed' WHERE id = $1", blog["id"])
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", first_pid)

        async def down() -> bool:
            return not cached.store.listening

        await eventually(down, within=5, what="the listener loss to be seen")
    assert (await cached.client.get(path)).json()["title"] == "Changed"

    async def listening_again() -> bool:
        return cached.store.listening

    await eventually(listening_again, within=10, what="the listener to come back")
    assert cached.listener.backend_pid not in (None, first_pid)
    assert (await cached.stored(path)).json()["title"] == "Changed"
    # And it is exact again.
    async with connect(cached.url) as conn:
        await conn.execute("UPDATE blogs SET title = 'Again' WHERE id = $1", blog["id"])
    await cached.shows(path, lambda r: r.json()["title"] == "Again")


# --- every write path, every page that shows it ------------------------------------------------


async def _all_show(
    cached: Cached, checks: dict[str, Callable[[httpx.Response], bool]], change: Awaitable[Any]
) -> None:
    for path in checks:
        await cached.stored(path)
    await change
    for path, check in checks.items():
        await cached.shows(path, check)


def _titles(response: httpx.Response) -> list[str]:
    body = response.json()
    items = body.get("items", body.get("articles", []))
    return [item["title"] for item in items]


async def test_an_edited_blog_changes_its_pages_and_every_list(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    edit = cached.client.patch(
        f"/blogs/{blog['id']}", json={"title": "Edited"}, headers=author.headers
    )
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["title"] == "Edited",
            f"/api/articles/{blog['slug']}": lambda r: r.json()["article"]["title"] == "Edited",
            "/blogs": lambda r: _titles(r) == ["Edited"],
            f"/users/{author.id}/blogs": lambda r: _titles(r) == ["Edited"],
            "/api/articles": lambda r: _titles(r) == ["Edited"],
            "/blogs?q=original": lambda r: _titles(r) == [],
        },
        edit,
    )


async def test_changed_tags_change_the_blog_the_tag_pages_and_the_tags(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    retag = cached.client.patch(
        f"/blogs/{blog['id']}", json={"tags": ["second"]}, headers=author.headers
    )
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["tags"] == ["second"],
            f"/api/articles/{blog['slug']}": lambda r: r.json()["article"]["tagList"] == ["second"],
            "/blogs?tag=first": lambda r: _titles(r) == [],
            "/api/articles?tag=second": lambda r: _titles(r) == ["Original"],
            "/tags": lambda r: [t["name"] for t in r.json()["items"]] == ["second"],
            "/api/tags": lambda r: r.json()["tags"] == ["second"],
        },
        retag,
    )


async def test_a_favorite_changes_the_count_wherever_it_shows_and_the_favorited_lists(
    cached: Cached, blog: dict[str, Any]
) -> None:
    reader = await sign_up_with(cached.client, "Reader")
    username = (await cached.client.get(f"/users/{reader.id}")).json()["username"]
    favorite = cached.client.post(f"/blogs/{blog['id']}/favorite", headers=reader.headers)
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["favorites_count"] == 1,
            f"/api/articles/{blog['slug']}": lambda r: r.json()["article"]["favoritesCount"] == 1,
            "/blogs": lambda r: r.json()["items"][0]["favorites_count"] == 1,
            f"/api/articles?favorited={username}": lambda r: _titles(r) == ["Original"],
        },
        favorite,
    )


async def test_a_renamed_owner_changes_every_card_comment_and_profile_that_shows_them(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    commented = await cached.client.post(
        f"/blogs/{blog['id']}/comments", json={"body": "mine"}, headers=author.headers
    )
    assert commented.status_code == 201
    old = (await cached.client.get(f"/users/{author.id}")).json()["username"]
    rename = cached.client.patch("/users/me", json={"username": "renamed"}, headers=author.headers)
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["owner"]["username"] == "renamed",
            f"/api/articles/{blog['slug']}": lambda r: (
                r.json()["article"]["author"]["username"] == "renamed"
            ),
            "/blogs": lambda r: r.json()["items"][0]["owner"]["username"] == "renamed",
            f"/users/{author.id}": lambda r: r.json()["username"] == "renamed",
            f"/api/profiles/{old}": lambda r: r.status_code == 404,
            f"/blogs/{blog['id']}/comments": lambda r: (
                r.json()["items"][0]["author"]["username"] == "renamed"
            ),
            f"/api/articles/{blog['slug']}/comments": lambda r: (
                r.json()["comments"][0]["author"]["username"] == "renamed"
            ),
        },
        rename,
    )


async def test_a_comment_changes_the_blogs_comment_pages(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    comment = cached.client.post(
        f"/blogs/{blog['id']}/comments", json={"body": "first!"}, headers=author.headers
    )
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}/comments": lambda r: len(r.json()["items"]) == 1,
            f"/api/articles/{blog['slug']}/comments": lambda r: len(r.json()["comments"]) == 1,
        },
        comment,
    )


async def test_a_new_blog_changes_every_list_it_belongs_to(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    new = cached.client.post(
        "/blogs", json={"title": "Newer", "body": "b", "tags": ["first"]}, headers=author.headers
    )
    await _all_show(
        cached,
        {
            "/blogs": lambda r: _titles(r) == ["Newer", "Original"],
            f"/users/{author.id}/blogs": lambda r: _titles(r) == ["Newer", "Original"],
            "/blogs?tag=first": lambda r: _titles(r) == ["Newer", "Original"],
            "/api/articles": lambda r: r.json()["articlesCount"] == 2,
        },
        new,
    )


async def test_a_deleted_blog_is_gone_from_its_pages(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    delete = cached.client.delete(f"/blogs/{blog['id']}", headers=author.headers)
    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.status_code == 404,
            f"/blogs/{blog['id']}/comments": lambda r: r.status_code == 404,
            f"/api/articles/{blog['slug']}": lambda r: r.status_code == 404,
            f"/api/articles/{blog['slug']}/comments": lambda r: r.status_code == 404,
            "/blogs": lambda r: _titles(r) == [],
        },
        delete,
    )


async def test_a_slug_changed_in_sql_moves_the_comment_pages_too(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    commented = await cached.client.post(
        f"/blogs/{blog['id']}/comments", json={"body": "mine"}, headers=author.headers
    )
    assert commented.status_code == 201

    async def move() -> None:
        async with connect(cached.url) as conn:
            await conn.execute("UPDATE blogs SET slug = 'moved' WHERE id = $1", blog["id"])

    await _all_show(
        cached,
        {
            f"/api/articles/{blog['slug']}": lambda r: r.status_code == 404,
            f"/api/articles/{blog['slug']}/comments": lambda r: r.status_code == 404,
        },
        move(),
    )
    moved = await cached.stored("/api/articles/moved/comments")
    assert [c["body"] for c in moved.json()["comments"]] == ["mine"]


async def _cli(url: str, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        *args,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def test_a_maintenance_script_changes_the_pages_that_show_what_it_fixed(
    cached: Cached, blog: dict[str, Any]
) -> None:
    async with connect(cached.url) as conn:
        await conn.execute("UPDATE blogs SET title = '  Padded  ' WHERE id = $1", blog["id"])
    path = f"/blogs/{blog['id']}"
    await cached.shows(path, lambda r: r.json()["title"] == "  Padded  ")
    await _all_show(
        cached,
        {
            path: lambda r: r.json()["title"] == "Padded",
            "/blogs": lambda r: _titles(r) == ["Padded"],
        },
        _cli(cached.url, "sql", "run", "data_fix"),
    )


async def test_the_seed_changes_the_lists_and_the_tags(
    cached: Cached, blog: dict[str, Any]
) -> None:
    """The seed copies blogs, then tags and favorites with the counting triggers off (ours are
    ENABLE ALWAYS, so they still fire)."""
    path = f"/blogs/{blog['id']}"
    await _all_show(
        cached,
        {
            "/blogs": lambda r: len(_titles(r)) > 1,
            "/tags": lambda r: len(r.json()["items"]) > 1,
            path: lambda r: r.status_code == 200,
        },
        _cli(cached.url, "seed", "--users", "20", "--blogs", "200", "--seed", "7"),
    )


async def test_tags_linked_in_sql_alone_change_the_card_and_the_tag_pages(
    cached: Cached, blog: dict[str, Any]
) -> None:
    """No blog row changes: the links' own trigger announces it."""

    async def link() -> None:
        async with connect(cached.url) as conn:
            await conn.execute(
                "WITH tag AS (INSERT INTO tags (name) VALUES ('linked') RETURNING id) "
                "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
                "SELECT b.id, tag.id, b.created_at FROM blogs AS b, tag WHERE b.id = $1",
                blog["id"],
            )

    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["tags"] == ["first", "linked"],
            f"/api/articles/{blog['slug']}": lambda r: (
                r.json()["article"]["tagList"] == ["first", "linked"]
            ),
            "/blogs?tag=linked": lambda r: _titles(r) == ["Original"],
        },
        link(),
    )


async def test_a_tag_deleted_in_sql_leaves_the_cards_that_showed_it(
    cached: Cached, blog: dict[str, Any]
) -> None:
    """The links go by ON DELETE CASCADE, whose statement announces nothing: the tag's own."""

    async def delete_tag() -> None:
        async with connect(cached.url) as conn:
            await conn.execute("DELETE FROM tags WHERE name = 'first'")

    await _all_show(
        cached,
        {
            f"/blogs/{blog['id']}": lambda r: r.json()["tags"] == [],
            f"/api/articles/{blog['slug']}": lambda r: r.json()["article"]["tagList"] == [],
            "/tags": lambda r: r.json()["items"] == [],
        },
        delete_tag(),
    )


async def test_what_triggers_write_in_a_statements_wake_is_announced_once_by_the_statement(
    cached: Cached, blog: dict[str, Any], author: Account
) -> None:
    """A blog deleted with its tag, a favorite and a comment: the cascades and the counters
    change five more tables, and the one change queued is the blog's own (with a test of its
    own above that every page showing what they changed is dropped)."""
    favorited = await cached.client.post(f"/blogs/{blog['id']}/favorite", headers=author.headers)
    commented = await cached.client.post(
        f"/blogs/{blog['id']}/comments", json={"body": "mine"}, headers=author.headers
    )
    assert (favorited.status_code, commented.status_code) == (200, 201)
    queued = "SELECT ctid::text, payload FROM read_cache_changes"
    async with connect(cached.url) as conn:
        # One snapshot: the rows the listener takes meanwhile stay in view, so the rows that
        # appear are the deletion's own.
        transaction = conn.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            before = {row["ctid"] for row in await conn.fetch(queued)}
            await conn.execute("DELETE FROM blogs WHERE id = $1", blog["id"])
            own = [row["payload"] for row in await conn.fetch(queued) if row["ctid"] not in before]
        finally:
            await transaction.rollback()
    blog_keys = {f"b:{blog['id']}", f"c:{blog['id']}", f"k:{blog['slug']}", f"s:{blog['slug']}"}
    assert [set(payload.split()) for payload in own] == [{"L", *blog_keys}]


async def test_every_read_cache_trigger_fires_under_any_replication_role(cached: Cached) -> None:
    """The seed copies links with session_replication_role = replica: ours must still fire."""
    async with connect(cached.url) as conn:
        triggers = await conn.fetch(
            "SELECT tgrelid::regclass::text AS tab, tgname, tgenabled::text FROM pg_trigger "
            "WHERE tgname LIKE 'tg_%_read_cache_%'"
        )
    assert {row["tab"] for row in triggers} == {
        "blogs",
        "blog_tags",
        "favorites",
        "comments",
        "users",
        "tags",
        "blog_count_slots",
        "user_blog_counts",
        "user_favorite_counts",
        "tag_blog_counts",
    }
    assert {row["tgenabled"] for row in triggers} == {"A"}
