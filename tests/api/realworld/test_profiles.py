"""GET /api/profiles/{username}, POST and DELETE /api/profiles/{username}/follow."""

import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import Register, assert_errors

pytestmark = pytest.mark.anyio


async def test_a_profile_has_the_spec_s_fields(client: AsyncClient, register: Register) -> None:
    celeb = await register("Celeb")
    response = await client.get("/api/profiles/celeb")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "profile": {"username": "Celeb", "bio": None, "image": None, "following": False}
    }
    assert celeb.username == "Celeb"


async def test_an_unknown_profile_is_a_404(client: AsyncClient) -> None:
    assert assert_errors(await client.get("/api/profiles/nobody"), 404) == ["user not found"]


async def test_follow_and_unfollow(client: AsyncClient, register: Register) -> None:
    celeb, fan = await register(), await register()
    path = f"/api/profiles/{celeb.username}/follow"
    for _ in range(2):  # a second follow answers the same
        followed = await client.post(path, headers=fan.headers)
        assert followed.status_code == 200, followed.text
        assert followed.json()["profile"]["following"] is True
    seen = await client.get(f"/api/profiles/{celeb.username}", headers=fan.headers)
    assert seen.json()["profile"]["following"] is True
    for _ in range(2):  # so does a second unfollow
        unfollowed = await client.delete(path, headers=fan.headers)
        assert unfollowed.status_code == 200, unfollowed.text
        assert unfollowed.json()["profile"]["following"] is False


async def test_follow_errors(client: AsyncClient, register: Register) -> None:
    member = await register()
    assert_errors(await client.post(f"/api/profiles/{member.username}/follow"), 401)
    assert_errors(await client.post("/api/profiles/nobody/follow", headers=member.headers), 404)
    assert_errors(await client.delete("/api/profiles/nobody/follow", headers=member.headers), 404)
    assert_errors(
        await client.post(f"/api/profiles/{member.username}/follow", headers=member.headers), 422
    )
