"""Blogs and pages through our API."""

from typing import Any

from httpx import AsyncClient


async def write_blog(
    client: AsyncClient, headers: dict[str, str], *, title: str = "Original", body: str = "text"
) -> dict[str, Any]:
    """Write a blog through the API; the blog as answered."""
    response = await client.post("/blogs", json={"title": title, "body": body}, headers=headers)
    assert response.status_code == 201, response.text
    blog: dict[str, Any] = response.json()
    return blog


async def walk_pages(
    client: AsyncClient, path: str, headers: dict[str, str] | None = None, **params: Any
) -> tuple[list[dict], int]:
    """Every item of a keyset listing, page by page, and the number of pages."""
    items: list[dict] = []
    pages = 0
    cursor = None
    while True:
        response = await client.get(
            path, params=params | ({"cursor": cursor} if cursor else {}), headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if "limit" in params:
            assert len(page["items"]) <= int(params["limit"])
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
