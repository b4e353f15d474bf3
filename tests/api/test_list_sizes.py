"""A list page's size is bounded whatever the blogs hold: natively each listed body is its first
BODY_EXCERPT characters (the single read has it whole); under /api lists carry no body."""

import pytest
from httpx import AsyncClient

from service.models import BODY_EXCERPT, MAX_PAGE_SIZE
from service.testing.accounts import SignUp

pytestmark = pytest.mark.anyio

LONGEST_BODY = 100_000


async def test_a_page_of_the_longest_blogs_carries_excerpts(
    client: AsyncClient, sign_up: SignUp
) -> None:
    ada = await sign_up("Ada")
    body = "".join(chr(0x4E00 + i % 2000) for i in range(LONGEST_BODY))  # 3 bytes each in UTF-8
    ids = []
    for n in range(3):
        created = await client.post(
            "/blogs", json={"title": f"Long {n}", "body": body}, headers=ada.headers
        )
        assert created.status_code == 201, created.text
        assert created.json()["body"] == body
        ids.append(created.json()["id"])
    for path in (
        f"/blogs?limit={MAX_PAGE_SIZE}",
        f"/users/{ada.id}/blogs?limit={MAX_PAGE_SIZE}",
        f"/feed?limit={MAX_PAGE_SIZE}",
    ):
        response = await client.get(path, headers=ada.headers)
        assert response.status_code == 200, response.text
        for item in response.json()["items"]:
            if item["id"] in ids:
                assert item["body"] == body[:BODY_EXCERPT]
    page = await client.get(f"/users/{ada.id}/blogs?limit=3")
    # Three 300 KB bodies would be 900 KB; their excerpts are 3 KB each.
    assert len(page.content) < 3 * (3 * BODY_EXCERPT + 1000)
    whole = await client.get(f"/blogs/{ids[0]}")
    assert whole.json()["body"] == body


async def test_realworld_lists_carry_no_body(client: AsyncClient, sign_up: SignUp) -> None:
    ada = await sign_up("Ada")
    body = "x" * LONGEST_BODY
    created = await client.post(
        "/blogs", json={"title": "Long", "body": body, "tags": ["long"]}, headers=ada.headers
    )
    assert created.status_code == 201, created.text
    listed = await client.get("/api/articles?tag=long")
    [article] = listed.json()["articles"]
    assert "body" not in article
    assert len(listed.content) < 2_000
    single = await client.get(f"/api/articles/{article['slug']}")
    assert single.json()["article"]["body"] == body
