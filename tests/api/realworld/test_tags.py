"""GET /api/tags."""

import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import Register, Write

pytestmark = pytest.mark.anyio


async def test_tags(client: AsyncClient, register: Register, write: Write) -> None:
    jake = await register()
    await write(jake, tags=["rw-popular", "rw-rare"])
    await write(jake, tags=["rw-popular"])
    response = await client.get("/api/tags")
    assert response.status_code == 200
    tags = response.json()["tags"]
    assert list(response.json()) == ["tags"]
    assert "rw-popular" in tags and "rw-rare" in tags
    assert tags.index("rw-popular") < tags.index("rw-rare")
