"""Every native endpoint that creates something answers 201 with the new resource's path in
`Location`, as its OpenAPI says."""

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD, SignUp

pytestmark = pytest.mark.anyio


async def test_a_sign_up_says_where_the_new_user_is(client: AsyncClient) -> None:
    response = await client.post(
        "/users", json={"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 201
    assert response.headers["location"] == f"/users/{response.json()['id']}"
    assert (await client.get(response.headers["location"])).json()["name"] == "Ada"


async def test_a_new_blog_says_where_it_is(client: AsyncClient, sign_up: SignUp) -> None:
    ada = await sign_up()
    response = await client.post(
        "/blogs", json={"title": "Hello", "body": "World"}, headers=ada.headers
    )
    assert response.status_code == 201
    assert response.headers["location"] == f"/blogs/{response.json()['id']}"
    found = await client.get(response.headers["location"])
    assert found.json() == response.json()
    assert found.headers["etag"] == response.headers["etag"]


async def test_a_new_comment_says_where_it_is(client: AsyncClient, sign_up: SignUp) -> None:
    ada = await sign_up()
    blog = await client.post("/blogs", json={"title": "Hi", "body": "x"}, headers=ada.headers)
    path = f"/blogs/{blog.json()['id']}/comments"
    response = await client.post(path, json={"body": "First"}, headers=ada.headers)
    assert response.status_code == 201
    assert response.headers["location"] == f"{path}/{response.json()['id']}"
    # The comment's own path is where it is deleted.
    deleted = await client.delete(response.headers["location"], headers=ada.headers)
    assert deleted.status_code == 204


async def test_the_openapi_documents_the_location_header(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/users", "/blogs", "/blogs/{blog_id}/comments"):
        created = paths[path]["post"]["responses"]["201"]
        assert "Location" in created["headers"], path
        assert "schema" in created["content"]["application/json"], path
