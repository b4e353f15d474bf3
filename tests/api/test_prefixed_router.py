"""service.api.prefixed_router: routing passes over the router for a path outside its prefix."""

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from service.api.prefixed_router import PrefixedRouter

pytestmark = pytest.mark.anyio


def _app() -> FastAPI:
    app = FastAPI()
    under = PrefixedRouter("/x/")

    @under.get("/x/a")
    async def inside() -> str:
        return "inside"

    # Outside the prefix on purpose: only a router that ignores its prefix would answer with it.
    @under.get("/{anything}")
    async def everything(anything: str) -> str:
        return "caught " + anything

    app.include_router(under)

    @app.get("/y")
    async def native() -> str:
        return "native"

    return app


async def _get(
    app: FastAPI, path: str, method: str = "GET", root_path: str = ""
) -> tuple[int, str]:
    transport = ASGITransport(app=app, root_path=root_path)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, path)
    return response.status_code, response.text


async def test_a_path_outside_the_prefix_goes_past_its_routes() -> None:
    assert await _get(_app(), "/y") == (200, '"native"')


async def test_a_path_under_the_prefix_reaches_its_routes() -> None:
    assert await _get(_app(), "/x/a") == (200, '"inside"')
    status, _ = await _get(_app(), "/x/a", method="POST")
    assert status == 405


async def test_the_prefix_is_read_below_the_root_path() -> None:
    assert await _get(_app(), "/base/x/a", root_path="/base") == (200, '"inside"')
    assert await _get(_app(), "/base/y", root_path="/base") == (200, '"native"')
