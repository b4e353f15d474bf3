"""The shared request parameters (service/api/parameters.py): ids are PostgreSQL bigints from 1,
page sizes 1-100; anything else is a 422 before a route runs, on every route that takes one."""

import pytest
from httpx import AsyncClient

from service.models import MAX_ID, MAX_PAGE_SIZE
from service.testing.accounts import SignUp

pytestmark = pytest.mark.anyio

LISTINGS = ["/blogs", "/users", "/users/1/blogs"]


@pytest.mark.parametrize(
    "path",
    [
        f"/blogs/{MAX_ID + 1}",
        f"/users/{MAX_ID + 1}",
        f"/users/{MAX_ID + 1}/blogs",
        f"/blogs?author_id={MAX_ID + 1}",
        "/blogs?author_id=0",
        "/blogs/99999999999999999999999999999999999999",
        "/blogs/0",
        "/blogs/-1",
        "/blogs/1e3",
        "/blogs/0x10",
        "/users/0",
        "/users/-1",
        "/users/abc",
        "/users/0/blogs",
        f"/users/{'9' * 5000}",
    ],
)
async def test_ids_out_of_range_are_422(client: AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("path", ["/blogs/1", "/users/1", "/users/1/blogs", "/blogs?author_id=1"])
@pytest.mark.parametrize("value", ["1", str(MAX_ID)])
async def test_ids_at_the_ends_of_the_range_are_taken(
    client: AsyncClient, path: str, value: str
) -> None:
    response = await client.get(path.replace("1", value, 1))
    # Nobody has these ids in the test's database: an empty page or a 404, never a 422.
    assert response.status_code in (200, 404), response.text


async def test_ids_out_of_range_in_writes_are_422(client: AsyncClient, sign_up: SignUp) -> None:
    account = await sign_up()
    for method in ("PATCH", "DELETE"):
        response = await client.request(
            method, f"/blogs/{MAX_ID + 1}", json={"title": "t"}, headers=account.headers
        )
        assert response.status_code == 422, (method, response.text)


@pytest.mark.parametrize(
    "limit",
    ["101", "1000000", str(10**30), "1" + "0" * 40, "0", "-1", "abc", "x", "1.5"],
)
@pytest.mark.parametrize("path", LISTINGS)
async def test_page_sizes_out_of_range_are_422(client: AsyncClient, path: str, limit: str) -> None:
    response = await client.get(path, params={"limit": limit})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("limit", ["1", str(MAX_PAGE_SIZE)])
@pytest.mark.parametrize("path", ["/blogs", "/users"])
async def test_page_sizes_at_the_ends_of_the_range_are_taken(
    client: AsyncClient, path: str, limit: str
) -> None:
    response = await client.get(path, params={"limit": limit})
    assert response.status_code == 200, response.text
