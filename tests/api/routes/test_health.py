import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.api.app import create_app
from service.db.database import Database
from service.errors import DatabaseUnavailable
from service.testing.app import settings_for
from service.testing.databases import fetchval

pytestmark = pytest.mark.anyio

# Nothing listens on port 1.
NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: AsyncClient, database_url: str) -> None:
    server = await fetchval(
        database_url,
        "SELECT coalesce(host(inet_server_addr()) || ':' || inet_server_port(), 'local')",
    )
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "databases": {"primary": "ok"},
        "primary": server,
        "writable": True,
    }


async def test_not_ready_when_the_database_does_not_answer(
    app: FastAPI, client: AsyncClient
) -> None:
    # The app started on its database, which then went away: its pool now points nowhere
    # (min_size=0 lets that pool start without a connection).
    unreachable = Database(NOWHERE, min_size=0, acquire_timeout=2)
    await unreachable.connect()
    databases = app.state.databases
    reachable, databases.primary = databases.primary, unreachable
    try:
        ready = await client.get("/health/ready")
        live = await client.get("/health")
        blog = await client.get("/blogs/1")
    finally:
        databases.primary = reachable
        await unreachable.disconnect()
    assert ready.status_code == 503
    assert ready.headers["retry-after"] == "1"
    assert ready.json() == {
        "status": "unavailable",
        "databases": {"primary": "down"},
        "primary": None,
        "writable": False,
    }
    assert live.status_code == 200
    assert blog.status_code == 503
    assert blog.headers["retry-after"] == "1"


async def test_the_app_does_not_start_without_its_database() -> None:
    # The lifespan reads the deployment id (the tokens' audience) and checks SEARCH_CONFIG.
    app = create_app(settings_for(NOWHERE), database=Database(NOWHERE, min_size=0))
    with pytest.raises(DatabaseUnavailable):
        async with app.router.lifespan_context(app):
            pass
