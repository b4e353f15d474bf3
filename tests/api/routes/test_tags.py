"""Tags on blogs: written with a blog, replaced by an edit, a filter on the list, and the most
used ones (`GET /tags`)."""

import asyncpg
import pytest
from httpx import AsyncClient

from service.testing.accounts import SignUp
from tests.support.api import walk_pages

pytestmark = pytest.mark.anyio


async def _write(client: AsyncClient, headers: dict[str, str], title: str, tags: list[str]) -> dict:
    response = await client.post(
        "/blogs", json={"title": title, "body": "b", "tags": tags}, headers=headers
    )
    assert response.status_code == 201, response.text
    blog: dict = response.json()
    return blog


async def test_tags_are_kept_trimmed_once_and_shown_sorted(
    client: AsyncClient, sign_up: SignUp
) -> None:
    author = await sign_up()
    blog = await _write(client, author.headers, "t", [" sql ", "Python", "sql", "async"])
    assert blog["tags"] == ["Python", "async", "sql"]
    assert (await client.get(f"/blogs/{blog['id']}")).json()["tags"] == ["Python", "async", "sql"]


async def test_an_edit_replaces_the_tags_and_keeps_them_without_tags(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    blog = await _write(client, author.headers, "t", ["a", "b"])
    path = f"/blogs/{blog['id']}"
    edited = await client.patch(path, json={"tags": ["b", "c"]}, headers=author.headers)
    assert edited.json()["tags"] == ["b", "c"]
    retitled = await client.patch(path, json={"title": "new"}, headers=author.headers)
    assert retitled.json()["tags"] == ["b", "c"]
    assert (await client.get(path)).json()["tags"] == ["b", "c"]
    cleared = await client.patch(path, json={"tags": []}, headers=author.headers)
    assert cleared.json()["tags"] == []
    counts = await raw.fetch("SELECT name, blog_count FROM tags ORDER BY name")
    assert [(row["name"], row["blog_count"]) for row in counts] == [("a", 0), ("b", 0), ("c", 0)]


async def test_the_tag_filter_walks_every_tagged_blog_once_newest_first(
    client: AsyncClient, sign_up: SignUp
) -> None:
    author = await sign_up()
    tagged = []
    for n in range(7):
        blog = await _write(client, author.headers, f"blog {n}", ["even"] if n % 2 == 0 else [])
        tagged += [blog["id"]] if n % 2 == 0 else []
    items, pages = await walk_pages(client, "/blogs", tag="even", limit="2")
    assert [item["id"] for item in items] == tagged[::-1]
    assert pages == 2
    assert (await client.get("/blogs", params={"tag": "nothing"})).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"tag": "x" * 41},
        {"tag": ""},
        {"tag": "a,b"},
        {"tag": "sql", "q": "word"},
        {"tag": "sql", "author_id": "1"},
    ],
)
async def test_bad_tag_filters_are_422(client: AsyncClient, params: dict) -> None:
    response = await client.get("/blogs", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "tag"]


async def test_popular_tags_come_most_used_first(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    for tags in (["b", "a"], ["b", "c"], ["b", "a"], ["gone"]):
        last = await _write(client, author.headers, "t", tags)
    await client.delete(f"/blogs/{last['id']}", headers=author.headers)
    response = await client.get("/tags", params={"limit": 2})
    assert response.status_code == 200
    assert response.json() == {"items": [{"name": "b", "blogs": 3}, {"name": "a", "blogs": 2}]}
    everything = (await client.get("/tags")).json()["items"]
    assert [item["name"] for item in everything] == ["b", "a", "c"]  # "gone" carries no blog
    assert (await client.get("/tags", params={"limit": 101})).status_code == 422


async def test_concurrent_blogs_with_a_new_tag_share_it(
    client: AsyncClient, sign_up: SignUp, raw: asyncpg.Connection
) -> None:
    author = await sign_up()
    for n in range(3):
        await _write(client, author.headers, f"t{n}", ["fresh"])
    rows = await raw.fetch("SELECT id, blog_count FROM tags WHERE name = 'fresh'")
    assert [row["blog_count"] for row in rows] == [3]
