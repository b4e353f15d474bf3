import pytest
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db.database import Database
from tests.conftest import settings_for

pytestmark = pytest.mark.anyio


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_not_ready_when_the_database_does_not_answer() -> None:
    # Nothing listens on port 1; min_size=0 lets the pool start without a connection.
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    app = create_app(settings_for(url), database=Database(url, min_size=0, acquire_timeout=2))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        ready = await client.get("/health/ready")
        live = await client.get("/health")
        blog = await client.get("/blogs/1")
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "1"
    assert ready.json() == {"detail": "the database is unavailable"}
    assert live.status_code == 200
    assert blog.status_code == 503
