import asyncio

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.db.database import Connection
from service.testing.accounts import Account, SignUp, sign_up_with
from service.testing.databases import ScratchDatabase
from tests.support.api import walk_pages, write_blog
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio

BLOG_KEYS = {
    "id",
    "slug",
    "title",
    "description",
    "body",
    "tags",
    "created_at",
    "updated_at",
    "favorites_count",
    "favorited",
    "owner",
}


async def _write(client: AsyncClient, account: Account, title: str = "Hello", body: str = "World"):
    return await write_blog(client, account.headers, title=title, body=body)


async def _seed_blogs(db: Connection, author_id: int, count: int) -> list[int]:
    """Blogs straight into the table, newest-first ids; several share a created_at to test ties."""
    raw = await db.raw()
    await raw.execute(
        "INSERT INTO blogs (user_id, title, body, created_at) "
        "SELECT $1, 'seeded ' || n, 'body', now() - (n / 3) * interval '1 minute' "
        "FROM generate_series(1, $2) n",
        author_id,
        count,
    )
    rows = await raw.fetch("SELECT id FROM blogs ORDER BY created_at DESC, id DESC")
    return [row["id"] for row in rows]


async def test_write_a_blog(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    blog = await _write(client, account, title="  Hello  ", body="  World  ")
    assert blog.keys() == BLOG_KEYS
    assert blog["title"] == "Hello"
    assert blog["body"] == "  World  "
    assert blog["owner"] == {
        "id": account.id,
        "name": "Ada",
        "username": f"ada.{account.id}",
        "bio": None,
        "image": None,
        "following": False,
    }
    assert blog["slug"] == f"hello-{blog['id']}"
    assert (blog["description"], blog["tags"]) == ("", [])
    assert (blog["favorites_count"], blog["favorited"]) == (0, False)
    assert blog["created_at"] == blog["updated_at"]


async def test_writing_needs_a_token(client: AsyncClient) -> None:
    response = await client.post("/blogs", json={"title": "t", "body": "b"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t"},
        {"body": "b"},
        {"title": " ", "body": "b"},
        {"title": "x" * 201, "body": "b"},
        {"title": "t", "body": ""},
        {"title": "t", "body": "x" * 100_001},
        {"title": "t", "body": "nul \x00 byte"},
        {"title": None, "body": "b"},
        {"title": "t", "body": "b", "owner": 1},
        {"title": "t", "body": "b", "slug": "mine"},
        {"title": "t", "body": "b", "description": "d" * 1001},
        {"title": "t", "body": "b", "tags": ["x" * 41]},
        {"title": "t", "body": "b", "tags": [" "]},
        {"title": "t", "body": "b", "tags": ["a,b"]},
        {"title": "t", "body": "b", "tags": ["tab\there"]},
        {"title": "t", "body": "b", "tags": [f"t{n}" for n in range(11)]},
        {"title": "t", "body": "b", "tags": ["x" * 5_000]},
        {"title": "t", "body": "b", "tags": "sql"},
        {"title": "t", "body": "b", "tags": [None]},
    ],
)
async def test_invalid_blogs_are_rejected(
    client: AsyncClient, sign_up: SignUp, body: dict, db: Connection
) -> None:
    account = await sign_up()
    response = await client.post("/blogs", json=body, headers=account.headers)
    assert response.status_code == 422
    assert (
        await (await db.raw()).fetchval("SELECT count(*) FROM blogs WHERE user_id = $1", account.id)
        == 0
    )


async def test_the_longest_blog_fits(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    blog = await _write(client, account, title="x" * 200, body="y" * 100_000)
    assert len(blog["body"]) == 100_000


async def test_read_a_blog(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up(name="Ada")
    written = await _write(client, account)
    response = await client.get(f"/blogs/{written['id']}")
    assert response.status_code == 200
    assert response.json() == written


async def test_an_unknown_blog_is_404(client: AsyncClient) -> None:
    # Ids out of range are 422: tests/api/test_parameters.py.
    response = await client.get("/blogs/999999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "blog not found"}


async def test_edit_a_blog(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    blog = await _write(client, account, title="Old", body="Old body")
    response = await client.patch(
        f"/blogs/{blog['id']}", json={"title": " New "}, headers=account.headers
    )
    assert response.status_code == 200
    edited = response.json()
    assert edited["title"] == "New"
    assert edited["body"] == "Old body"
    assert edited["created_at"] == blog["created_at"]
    assert edited["updated_at"] > blog["updated_at"]
    assert (await client.get(f"/blogs/{blog['id']}")).json() == edited

    response = await client.patch(
        f"/blogs/{blog['id']}", json={"body": "New body"}, headers=account.headers
    )
    assert response.json()["title"] == "New"
    assert response.json()["body"] == "New body"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": None},
        {"body": None},
        {"title": ""},
        {"title": "t", "owner": 2},
        {"tags": None},
        {"description": None},
        {"tags": ["x" * 41]},
        {"slug": "mine"},
    ],
)
async def test_invalid_edits_change_nothing(
    client: AsyncClient, sign_up: SignUp, body: dict
) -> None:
    account = await sign_up()
    blog = await _write(client, account)
    response = await client.patch(f"/blogs/{blog['id']}", json=body, headers=account.headers)
    assert response.status_code == 422
    assert (await client.get(f"/blogs/{blog['id']}")).json() == blog


async def test_only_the_owner_may_edit_or_delete(client: AsyncClient, sign_up: SignUp) -> None:
    owner, other = await sign_up(), await sign_up()
    blog = await _write(client, owner)
    edit = await client.patch(f"/blogs/{blog['id']}", json={"title": "x"}, headers=other.headers)
    delete = await client.delete(f"/blogs/{blog['id']}", headers=other.headers)
    assert edit.status_code == 403
    assert delete.status_code == 403
    assert (await client.get(f"/blogs/{blog['id']}")).json() == blog


async def test_edit_or_delete_needs_a_token(client: AsyncClient, sign_up: SignUp) -> None:
    blog = await _write(client, await sign_up())
    assert (await client.patch(f"/blogs/{blog['id']}", json={"title": "x"})).status_code == 401
    assert (await client.delete(f"/blogs/{blog['id']}")).status_code == 401


async def test_edit_or_delete_an_unknown_blog(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    edit = await client.patch("/blogs/999999999", json={"title": "x"}, headers=account.headers)
    delete = await client.delete("/blogs/999999999", headers=account.headers)
    assert edit.status_code == 404
    assert delete.status_code == 404


async def test_delete_a_blog(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    blog = await _write(client, account)
    response = await client.delete(f"/blogs/{blog['id']}", headers=account.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/blogs/{blog['id']}")).status_code == 404
    again = await client.delete(f"/blogs/{blog['id']}", headers=account.headers)
    assert again.status_code == 404


async def test_list_newest_first(client: AsyncClient, sign_up: SignUp) -> None:
    ada, bea = await sign_up(name="Ada"), await sign_up(name="Bea")
    first = await _write(client, ada, title="first")
    second = await _write(client, bea, title="second")
    response = await client.get("/blogs")
    assert response.status_code == 200
    page = response.json()
    assert page.keys() == {"items", "next_cursor"}
    assert [blog["id"] for blog in page["items"]][:2] == [second["id"], first["id"]]
    assert page["items"][0] == second


async def test_walking_pages_returns_every_blog_once_in_order_despite_inserts(
    client: AsyncClient, sign_up: SignUp, db: Connection
) -> None:
    account = await sign_up()
    expected = await _seed_blogs(db, account.id, 300)

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 23} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/blogs", params=params)
        assert response.status_code == 200
        seen += [blog["id"] for blog in response.json()["items"]]
        pages += 1
        # New blogs arrive while the client walks; they are newer than every page so far.
        await _write(client, account, title=f"written during page {pages}")
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-300 // 23)


async def test_walking_one_author_s_pages(
    client: AsyncClient, sign_up: SignUp, db: Connection
) -> None:
    ada, bea = await sign_up(), await sign_up()
    await _seed_blogs(db, bea.id, 40)
    expected = await _seed_blogs(db, ada.id, 120)
    expected = [
        row["id"]
        for row in await (await db.raw()).fetch(
            "SELECT id FROM blogs WHERE user_id = $1 ORDER BY created_at DESC, id DESC", ada.id
        )
    ]
    assert len(expected) == 120
    by_filter, pages = await walk_pages(client, "/blogs", author_id=ada.id, limit=50)
    by_user, _ = await walk_pages(client, f"/users/{ada.id}/blogs", limit=50)
    assert [blog["id"] for blog in by_filter] == expected
    assert [blog["id"] for blog in by_user] == expected
    assert pages == 3


async def test_search_takes_words_not_patterns(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    for title in ["100% Pure", "1000 Pure", "snake_case", "snakeXcase", "Café Culture"]:
        await _write(client, account, title=title)

    async def titles(q: str) -> list[str]:
        response = await client.get("/blogs", params={"q": q, "author_id": account.id})
        assert response.status_code == 200
        return sorted(blog["title"] for blog in response.json()["items"])

    # Whole words in any letter case (full-text search: tests/test_blogs_search.py), never a
    # LIKE pattern: % and _ are no wildcards, and a piece of a word matches nothing.
    assert await titles("pure") == ["100% Pure", "1000 Pure"]
    assert await titles("100%") == ["100% Pure"]
    assert await titles("0% p") == []
    assert await titles("snake_case") == ["snake_case"]
    assert await titles("e_c") == []
    assert await titles("snake%case") == ["snake_case"]
    assert await titles("CAFÉ") == ["Café Culture"]
    assert await titles("caf") == []
    assert await titles("nothing like it") == []


async def test_list_by_an_unknown_author_is_empty(client: AsyncClient) -> None:
    response = await client.get("/blogs", params={"author_id": 999999999})
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "params",
    [
        # Page sizes and author ids out of range: tests/api/test_parameters.py.
        {"q": ""},
        {"q": "x" * 201},
        {"q": "\x00"},
        {"cursor": "garbage"},
        {"cursor": "x" * 500},
    ],
)
async def test_invalid_list_parameters(client: AsyncClient, params: dict) -> None:
    response = await client.get("/blogs", params=params)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_a_tampered_cursor_is_rejected(
    client: AsyncClient, sign_up: SignUp, db: Connection, app: FastAPI
) -> None:
    account = await sign_up()
    await _seed_blogs(db, account.id, 5)
    cursor = (await client.get("/blogs", params={"limit": 2})).json()["next_cursor"]
    payload, signature = cursor.split(".")
    forged = app.state.cursors.encode(2**62, 1).split(".")[0] + "." + signature
    for bad in (payload + "." + signature[::-1], forged, cursor + "x", payload):
        response = await client.get("/blogs", params={"cursor": bad})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert (await client.get("/blogs", params={"cursor": cursor})).status_code == 200


async def test_a_blog_carries_an_etag_and_answers_304(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    created = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=account.headers)
    etag = created.headers["etag"]
    path = f"/blogs/{created.json()['id']}"
    read = await client.get(path)
    assert read.headers["etag"] == etag

    cached = await client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": f"W/{etag}"})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"other"'})).status_code == 200

    edited = await client.patch(path, json={"title": "new"}, headers=account.headers)
    assert edited.headers["etag"] != etag
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 200


async def test_an_owner_rename_changes_the_blog_s_etag(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up(name="Ada")
    blog = await client.post("/blogs", json={"title": "t", "body": "b"}, headers=account.headers)
    await client.patch("/users/me", json={"name": "Bea"}, headers=account.headers)
    response = await client.get(
        f"/blogs/{blog.json()['id']}", headers={"If-None-Match": blog.headers["etag"]}
    )
    assert response.status_code == 200
    assert response.json()["owner"]["name"] == "Bea"


@pytest.mark.parametrize("path", ["/blogs", "/blogs?limit=5", "/users/{user}/blogs"])
async def test_pages_carry_an_etag_and_answer_304(
    client: AsyncClient, sign_up: SignUp, path: str
) -> None:
    account = await sign_up()
    await _write(client, account)
    path = path.format(user=account.id)
    first = await client.get(path)
    etag = first.headers["etag"]
    cached = await client.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    await _write(client, account, title="another")
    assert (await client.get(path, headers={"If-None-Match": etag})).status_code == 200


async def test_if_match_applies_an_edit_to_the_version_read(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    blog = await client.post("/blogs", json={"title": "v1", "body": "b"}, headers=account.headers)
    path, etag = f"/blogs/{blog.json()['id']}", blog.headers["etag"]

    first = await client.patch(
        path, json={"title": "v2"}, headers=account.headers | {"If-Match": etag}
    )
    assert first.status_code == 200
    # A second writer still holding the first version loses, and changes nothing.
    stale = await client.patch(
        path, json={"title": "lost"}, headers=account.headers | {"If-Match": etag}
    )
    assert stale.status_code == 412
    assert (await client.get(path)).json()["title"] == "v2"

    fresh = await client.patch(
        path, json={"title": "v3"}, headers=account.headers | {"If-Match": first.headers["etag"]}
    )
    assert fresh.status_code == 200
    anything = await client.patch(
        path, json={"title": "v4"}, headers=account.headers | {"If-Match": "*"}
    )
    assert anything.status_code == 200
    for bad in ('"zz.1"', "W/" + anything.headers["etag"], "garbage"):
        response = await client.patch(
            path, json={"title": "x"}, headers=account.headers | {"If-Match": bad}
        )
        assert response.status_code == 412
    assert (await client.get(path)).json()["title"] == "v4"


async def test_concurrent_edits_of_one_version_never_lose_one_silently(
    scratch_database: ScratchDatabase,
) -> None:
    # Real commits and real concurrency: a database of its own and a pool of several connections.
    url = await scratch_database()
    async with in_process(url, min_size=4, max_size=8) as client:
        headers = (await sign_up_with(client)).headers
        created = await client.post("/blogs", json={"title": "v1", "body": "b"}, headers=headers)
        path, etag = f"/blogs/{created.json()['id']}", created.headers["etag"]

        edits = await asyncio.gather(
            *(
                client.patch(
                    path, json={"title": f"edit {n}"}, headers=headers | {"If-Match": etag}
                )
                for n in range(8)
            )
        )
        statuses = sorted(response.status_code for response in edits)
        assert statuses == [200] + [412] * 7
        winner = next(response for response in edits if response.status_code == 200)
        assert (await client.get(path)).json()["title"] == winner.json()["title"]


# --- hostile input -----------------------------------------------------------------------------

INJECTIONS = [
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE blogs;--",
    "%",
    "_",
    "\\",
    "100%_off\\_really",
    "' OR '1'='1",
    "\"double\" and 'single' quotes",
    "$1 $$ $$ ::text",
    "ünïcödé ☃ 😀 漢字",
    "a%b_c\\d",
]


async def test_sql_metacharacters_round_trip_as_data(
    client: AsyncClient, sign_up: SignUp, db: Connection
) -> None:
    account = await sign_up(name="Robert'); DROP TABLE users;--")
    profile = await client.get(f"/users/{account.id}")
    assert profile.json()["name"] == "Robert'); DROP TABLE users;--"
    ids: dict[str, int] = {}
    for text in [*INJECTIONS, "plain title"]:
        created = await client.post(
            "/blogs", json={"title": text, "body": text}, headers=account.headers
        )
        assert created.status_code == 201, (text, created.text)
        ids[text] = created.json()["id"]
        read = (await client.get(f"/blogs/{ids[text]}")).json()
        assert (read["title"], read["body"]) == (text, text)
    raw = await db.raw()
    for q in INJECTIONS:
        page = await client.get("/blogs", params={"q": q, "author_id": account.id, "limit": 100})
        assert page.status_code == 200, (q, page.text)
        found = {item["id"] for item in page.json()["items"]}
        # What PostgreSQL's own full-text match says for q taken as a plain value.
        expected = {
            row["id"]
            for row in await raw.fetch(
                "SELECT id FROM blogs WHERE user_id = $1 AND to_tsvector('simple', title || ' ' "
                "|| body) @@ websearch_to_tsquery('simple', $2)",
                account.id,
                q,
            )
        }
        assert found == expected, q
    # The words of a text find its blog: the injection was searched for as words, not run.
    page = await client.get("/blogs", params={"q": "DROP TABLE users", "author_id": account.id})
    assert {item["id"] for item in page.json()["items"]} == {ids["'; DROP TABLE users; --"]}
    # Nothing was dropped or deleted.
    assert (await client.get("/users", params={"limit": 1})).status_code == 200
    every, _ = await walk_pages(client, "/blogs", author_id=account.id)
    assert {item["id"] for item in every} == set(ids.values())


async def test_hostile_preconditions_are_4xx_or_honoured(
    client: AsyncClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    blog_id = (await _write(client, account))["id"]
    tags = ['"ffffffffffffffffffffffffffff.x"', '"zz.y"', 'W/"1"', '"', ",,,", "é".encode()]
    for tag in tags:
        edit = await client.patch(
            f"/blogs/{blog_id}",
            json={"title": "Edited"},
            headers=account.headers | {"If-Match": tag},
        )
        assert edit.status_code == 412, (tag, edit.status_code, edit.text)
        read = await client.get(f"/blogs/{blog_id}", headers={"If-None-Match": tag})
        assert read.status_code == 200, (tag, read.status_code)
    for cursor in ["A" * 200, ".", "..", "a.b", "ünï.cödé", "e30.AAAAAAAAAAAAAAAAAAAAAA"]:
        page = await client.get("/blogs", params={"cursor": cursor})
        assert page.status_code == 422, (cursor, page.text)
