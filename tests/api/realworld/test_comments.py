"""GET and POST /api/articles/{slug}/comments, DELETE /api/articles/{slug}/comments/{id}."""

import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import TIMESTAMP, Register, Write, assert_errors

pytestmark = pytest.mark.anyio


async def test_comment_list_and_delete(
    client: AsyncClient, register: Register, write: Write
) -> None:
    jake, fan = await register(), await register()
    article = await write(jake)
    path = f"/api/articles/{article['slug']}/comments"
    response = await client.post(
        path, json={"comment": {"body": "Thank you so much!"}}, headers=fan.headers
    )
    assert response.status_code == 200, response.text
    comment = response.json()["comment"]
    assert set(comment) == {"id", "createdAt", "updatedAt", "body", "author"}
    assert comment["body"] == "Thank you so much!"
    assert comment["author"]["username"] == fan.username
    assert TIMESTAMP.match(comment["createdAt"]) and TIMESTAMP.match(comment["updatedAt"])
    second = await client.post(path, json={"comment": {"body": "Again"}}, headers=jake.headers)
    listed = await client.get(path)
    assert listed.status_code == 200
    assert [c["body"] for c in listed.json()["comments"]] == ["Thank you so much!", "Again"]
    assert listed.json()["comments"][0] == comment
    deleted = await client.delete(f"{path}/{second.json()['comment']['id']}", headers=jake.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert [c["id"] for c in (await client.get(path)).json()["comments"]] == [comment["id"]]


async def test_comment_errors(client: AsyncClient, register: Register, write: Write) -> None:
    jake, fan, stranger = await register(), await register(), await register()
    article = await write(jake)
    path = f"/api/articles/{article['slug']}/comments"
    comment = (
        await client.post(path, json={"comment": {"body": "Mine"}}, headers=fan.headers)
    ).json()["comment"]
    assert_errors(await client.post(path, json={"comment": {"body": "x"}}), 401)
    assert_errors(
        await client.post(path, json={"comment": {"body": " "}}, headers=fan.headers), 422
    )
    assert_errors(await client.post(path, json={"body": "x"}, headers=fan.headers), 422)
    assert_errors(await client.get("/api/articles/no-such-slug/comments"), 404)
    assert_errors(
        await client.post(
            "/api/articles/no-such-slug/comments",
            json={"comment": {"body": "x"}},
            headers=fan.headers,
        ),
        404,
    )
    assert_errors(await client.delete(f"{path}/{comment['id']}"), 401)
    assert_errors(await client.delete(f"{path}/{comment['id']}", headers=stranger.headers), 403)
    assert_errors(await client.delete(f"{path}/999999999", headers=fan.headers), 404)
    assert_errors(await client.delete(f"{path}/abc", headers=fan.headers), 422)
    # The article's author may delete it too.
    assert (await client.delete(f"{path}/{comment['id']}", headers=jake.headers)).status_code == 204
