"""Articles: lists (filters, offsets, capped counts), the feed, one article, edits, favorites."""

import pytest
from httpx import AsyncClient

from service import blogs
from service.testing.accounts import PASSWORD
from tests.api.realworld.conftest import TIMESTAMP, Register, Write, assert_errors

pytestmark = pytest.mark.anyio

ARTICLE_FIELDS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}


async def test_create_and_read_an_article(client: AsyncClient, register: Register) -> None:
    jake = await register("jake")
    response = await client.post(
        "/api/articles",
        json={
            "article": {
                "title": "How to train your dragon",
                "description": "Ever wonder how?",
                "body": "You have to believe",
                "tagList": ["reactjs", "angularjs", "dragons", "reactjs"],
            }
        },
        headers=jake.headers,
    )
    assert response.status_code == 201, response.text
    article = response.json()["article"]
    assert set(article) == ARTICLE_FIELDS
    assert article["title"] == "How to train your dragon"
    assert article["slug"].startswith("how-to-train-your-dragon")
    assert article["tagList"] == ["angularjs", "dragons", "reactjs"]  # sorted, repeats once
    assert article["favorited"] is False and article["favoritesCount"] == 0
    assert article["author"] == {
        "username": "jake",
        "bio": None,
        "image": None,
        "following": False,
    }
    assert TIMESTAMP.match(article["createdAt"]) and article["createdAt"].endswith("Z")
    assert TIMESTAMP.match(article["updatedAt"])
    read = await client.get(f"/api/articles/{article['slug']}")
    assert read.status_code == 200
    assert read.json() == {"article": article}


async def test_article_errors(client: AsyncClient, register: Register, write: Write) -> None:
    jake, other = await register(), await register()
    article = await write(jake)
    slug = article["slug"]
    assert_errors(await client.get("/api/articles/no-such-slug"), 404)
    assert_errors(await client.post("/api/articles", json={"article": {"title": "t"}}), 401)
    assert_errors(
        await client.post("/api/articles", json={"article": {"title": "t"}}, headers=jake.headers),
        422,
    )
    assert_errors(
        await client.post(
            "/api/articles",
            json={"article": {"title": "t", "description": "d", "body": "b", "tagList": ["a,b"]}},
            headers=jake.headers,
        ),
        422,
    )
    edit = {"article": {"title": "Mine now"}}
    assert_errors(await client.put(f"/api/articles/{slug}", json=edit), 401)
    assert_errors(await client.put(f"/api/articles/{slug}", json=edit, headers=other.headers), 403)
    assert_errors(
        await client.put("/api/articles/no-such-slug", json=edit, headers=jake.headers), 404
    )
    assert_errors(await client.delete(f"/api/articles/{slug}", headers=other.headers), 403)
    assert_errors(await client.delete("/api/articles/no-such-slug", headers=jake.headers), 404)
    assert_errors(
        await client.put(f"/api/articles/{slug}", json={"article": {}}, headers=jake.headers), 422
    )


async def test_update_is_partial_and_keeps_the_slug(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake = await register()
    article = await write(jake, title="First", tags=["b", "a"])
    response = await client.put(
        f"/api/articles/{article['slug']}",
        json={"article": {"body": "With two hands"}},
        headers=jake.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["article"]
    assert updated["body"] == "With two hands"
    assert (updated["title"], updated["description"], updated["tagList"]) == (
        "First",
        "d",
        ["a", "b"],
    )
    assert updated["slug"] == article["slug"]
    assert updated["updatedAt"] > article["updatedAt"]
    retitled = await client.put(
        f"/api/articles/{article['slug']}",
        json={"article": {"title": "Second", "tagList": ["z"]}},
        headers=jake.headers,
    )
    assert (retitled.json()["article"]["title"], retitled.json()["article"]["tagList"]) == (
        "Second",
        ["z"],
    )


async def test_delete(client: AsyncClient, register: Register, write: Write) -> None:
    jake = await register()
    article = await write(jake)
    response = await client.delete(f"/api/articles/{article['slug']}", headers=jake.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_errors(await client.get(f"/api/articles/{article['slug']}"), 404)


async def test_favorite_and_unfavorite(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake, fan = await register(), await register()
    article = await write(jake)
    path = f"/api/articles/{article['slug']}/favorite"
    assert_errors(await client.post(path), 401)
    assert_errors(
        await client.post("/api/articles/no-such-slug/favorite", headers=fan.headers), 404
    )
    for _ in range(2):  # a second favorite answers the same
        response = await client.post(path, headers=fan.headers)
        assert response.status_code == 200, response.text
        favorite = response.json()["article"]
        assert (favorite["favorited"], favorite["favoritesCount"]) == (True, 1)
    listed = await client.get(
        f"/api/articles?favorited={fan.username.upper()}", headers=fan.headers
    )
    assert [a["slug"] for a in listed.json()["articles"]] == [article["slug"]]
    assert listed.json()["articles"][0]["favorited"] is True
    for _ in range(2):  # and a second unfavorite
        response = await client.delete(path, headers=fan.headers)
        assert response.status_code == 200, response.text
        assert (
            response.json()["article"]["favorited"],
            response.json()["article"]["favoritesCount"],
        ) == (
            False,
            0,
        )


async def test_lists_filter_newest_first_with_counts(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake, ann = await register("jake_l"), await register("ann_l")
    titles = []
    for n in range(6):
        author = jake if n % 2 else ann
        tags = ["even"] if n % 2 == 0 else ["odd"]
        titles.append((await write(author, title=f"t{n}", tags=[*tags, "all"]))["title"])
    odd = await client.get("/api/articles?author=jake_l")
    by_jake = await client.get("/api/articles?author=JAKE_L")
    assert odd.json() == by_jake.json()
    assert [a["title"] for a in odd.json()["articles"]] == ["t5", "t3", "t1"]
    assert odd.json()["articlesCount"] == 3
    slug_t3 = odd.json()["articles"][1]["slug"]
    await client.post(f"/api/articles/{slug_t3}/favorite", headers=ann.headers)

    async def titles_of(query: str) -> tuple[list[str], int]:
        response = await client.get(f"/api/articles?{query}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"articles", "articlesCount"}
        return [a["title"] for a in body["articles"]], body["articlesCount"]

    assert await titles_of("tag=all") == (["t5", "t4", "t3", "t2", "t1", "t0"], 6)
    assert await titles_of("tag=all&limit=2&offset=1") == (["t4", "t3"], 6)
    assert await titles_of("tag=even&author=ann_l") == (["t4", "t2", "t0"], 3)
    assert await titles_of("tag=odd&author=ann_l") == ([], 0)
    assert await titles_of("favorited=ann_l") == (["t3"], 1)
    assert await titles_of("favorited=ann_l&tag=odd") == (["t3"], 1)
    assert await titles_of("favorited=ann_l&tag=even") == ([], 0)
    assert await titles_of("favorited=ann_l&author=jake_l&tag=all") == (["t3"], 1)
    assert await titles_of("favorited=ann_l&author=ann_l") == ([], 0)
    assert await titles_of("author=nobody") == ([], 0)
    assert await titles_of("tag=nothing") == ([], 0)
    assert await titles_of("tag=all&offset=6") == ([], 6)
    listed = (await client.get("/api/articles?tag=all&limit=1")).json()["articles"][0]
    assert set(listed) == ARTICLE_FIELDS - {"body"}  # lists carry no body since spec 1.1.0
    read = (await client.get(f"/api/articles/{listed['slug']}")).json()["article"]
    # Field for field and in the same order, as the spec's clients see them.
    assert [(key, value) for key, value in read.items() if key != "body"] == list(listed.items())
    everything, count = await titles_of("limit=100")
    assert everything[:6] == ["t5", "t4", "t3", "t2", "t1", "t0"]
    assert count >= 6


async def test_a_signed_in_reader_sees_their_flags(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake, fan = await register(), await register()
    article = await write(jake)
    await client.post(f"/api/articles/{article['slug']}/favorite", headers=fan.headers)
    await client.post(f"/api/profiles/{jake.username}/follow", headers=fan.headers)
    response = await client.get(f"/api/articles?author={jake.username}", headers=fan.headers)
    [seen] = response.json()["articles"]
    assert seen["favorited"] is True and seen["author"]["following"] is True
    anonymous = await client.get(f"/api/articles?author={jake.username}")
    [seen] = anonymous.json()["articles"]
    assert seen["favorited"] is False and seen["author"]["following"] is False


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "offset=-1", f"offset={blogs.MAX_OFFSET + 1}", "limit=x", "tag=a,b"],
)
async def test_bad_list_parameters_are_422(client: AsyncClient, query: str) -> None:
    assert_errors(await client.get(f"/api/articles?{query}"), 422)


async def test_the_offset_ceiling_is_allowed(client: AsyncClient) -> None:
    response = await client.get(f"/api/articles?offset={blogs.MAX_OFFSET}&limit=100")
    assert response.status_code == 200, response.text
    assert response.json()["articles"] == []


@pytest.mark.parametrize("query", ["", "tag=counted", "author={author}", "favorited={author}"])
async def test_the_count_of_all_or_one_filter_is_exact_beyond_the_cap(
    client: AsyncClient,
    register: Register,
    write: Write,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    jake = await register()
    monkeypatch.setattr(blogs, "COUNT_CAP", 3)
    url = "/api/articles?limit=2&" + query.format(author=jake.username)
    before = (await client.get(url)).json()["articlesCount"]
    counts = []
    for n in range(5):
        article = await write(jake, title=f"c{n}", tags=["counted"])
        await client.post(f"/api/articles/{article['slug']}/favorite", headers=jake.headers)
        counts.append((await client.get(url)).json()["articlesCount"] - before)
    assert counts == [1, 2, 3, 4, 5]
    beyond = await client.get(url.replace("limit=2", "limit=2&offset=3"))
    assert [a["title"] for a in beyond.json()["articles"]][:2] == ["c1", "c0"]
    assert beyond.json()["articlesCount"] == before + 5


@pytest.mark.parametrize(
    "query",
    [
        "tag=capped&author={author}",
        "favorited={author}&tag=capped",
        "author={author}&favorited={author}",
    ],
)
async def test_the_count_of_combined_filters_is_exact_up_to_the_cap_and_capped_beyond(
    client: AsyncClient,
    register: Register,
    write: Write,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    jake = await register()
    monkeypatch.setattr(blogs, "COUNT_CAP", 3)
    url = "/api/articles?limit=2&" + query.format(author=jake.username)
    counts = []
    for n in range(5):
        article = await write(jake, title=f"c{n}", tags=["capped"])
        await client.post(f"/api/articles/{article['slug']}/favorite", headers=jake.headers)
        counts.append((await client.get(url)).json()["articlesCount"])
    assert counts == [1, 2, 3, 3, 3]
    # The page past the cap is still there, newest first.
    beyond = await client.get(url.replace("limit=2", "limit=2&offset=3"))
    assert [a["title"] for a in beyond.json()["articles"]][:2] == ["c1", "c0"]
    assert beyond.json()["articlesCount"] == 3


async def test_an_offset_past_the_ceiling_is_a_422_that_says_why(
    client: AsyncClient, register: Register
) -> None:
    response = await client.get(f"/api/articles?offset={blogs.MAX_OFFSET + 1}")
    assert_errors(response, 422)
    [message] = response.json()["errors"]["body"]
    assert f"offset goes up to {blogs.MAX_OFFSET:,}" in message
    assert "narrow the list with `tag`, `author` or `favorited`" in message
    jake = await register()
    feed = await client.get(
        f"/api/articles/feed?offset={blogs.FEED_MAX_OFFSET + 1}", headers=jake.headers
    )
    assert_errors(feed, 422)
    assert f"offset goes up to {blogs.FEED_MAX_OFFSET:,}" in feed.json()["errors"]["body"][0]


async def test_the_feed(client: AsyncClient, register: Register, write: Write) -> None:
    jake, ann, fan = await register(), await register(), await register()
    assert_errors(await client.get("/api/articles/feed"), 401)
    empty = await client.get("/api/articles/feed", headers=fan.headers)
    assert empty.json() == {"articles": [], "articlesCount": 0}
    for n in range(3):
        await write(jake, title=f"j{n}")
        await write(ann, title=f"a{n}")
    await client.post(f"/api/profiles/{jake.username}/follow", headers=fan.headers)
    response = await client.get("/api/articles/feed", headers=fan.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["title"] for a in body["articles"]] == ["j2", "j1", "j0"]
    assert body["articlesCount"] == 3
    assert all(a["author"]["following"] is True for a in body["articles"])
    page = await client.get("/api/articles/feed?limit=1&offset=1", headers=fan.headers)
    assert [a["title"] for a in page.json()["articles"]] == ["j1"]
    assert_errors(
        await client.get(
            f"/api/articles/feed?offset={blogs.FEED_MAX_OFFSET + 1}", headers=fan.headers
        ),
        422,
    )


async def test_a_stale_token_reads_as_anonymous_and_cannot_write(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake = await register()
    article = await write(jake)
    await client.post(f"/api/articles/{article['slug']}/favorite", headers=jake.headers)
    changed = await client.put(
        "/api/user",
        json={"user": {"password": "another password", "current_password": PASSWORD}},
        headers=jake.headers,
    )
    assert changed.status_code == 200
    listed = await client.get(f"/api/articles?author={jake.username}", headers=jake.headers)
    assert listed.json()["articles"][0]["favorited"] is False
    assert_errors(await client.get("/api/articles/feed", headers=jake.headers), 401)
    assert_errors(
        await client.post(
            "/api/articles",
            json={"article": {"title": "t", "description": "d", "body": "b"}},
            headers=jake.headers,
        ),
        401,
    )


async def test_the_feed_count_is_capped(
    client: AsyncClient,
    register: Register,
    write: Write,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jake, fan = await register(), await register()
    await client.post(f"/api/profiles/{jake.username}/follow", headers=fan.headers)
    monkeypatch.setattr(blogs, "FEED_COUNT_CAP", 2)
    counts = []
    for n in range(4):
        await write(jake, title=f"f{n}")
        counts.append((await client.get("/api/articles/feed", headers=fan.headers)).json())
    assert [body["articlesCount"] for body in counts] == [1, 2, 2, 2]
    assert [a["title"] for a in counts[-1]["articles"]] == ["f3", "f2", "f1", "f0"]
