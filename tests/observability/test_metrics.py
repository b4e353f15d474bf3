"""GET /metrics after real requests: the numbers move as they should."""

import asyncio
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase
from tests.support.servers import in_process, serving

pytestmark = pytest.mark.anyio


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from the exposition text; 0 when it is absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        series, _, label_text = metric.partition("{")
        if series == name and ",".join(sorted(label_text.rstrip("}").split(","))) == wanted:
            return float(value)
    return 0.0


async def scrape(client: AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_count_under_their_route_template(client: AsyncClient) -> None:
    route = {"method": "GET", "route": "/blogs/{blog_id}", "status": "404"}
    before = await scrape(client)
    for blog_id in (987654321, 987654322):
        assert (await client.get(f"/blogs/{blog_id}")).status_code == 404
    assert (await client.get("/no/such/987654323")).status_code == 404
    after = await scrape(client)
    assert sample(after, "http_server_requests_total", **route) == (
        sample(before, "http_server_requests_total", **route) + 2
    )
    assert sample(after, "http_server_request_duration_seconds_count", **route) == (
        sample(before, "http_server_request_duration_seconds_count", **route) + 2
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample(after, "http_server_requests_total", **unmatched) == (
        sample(before, "http_server_requests_total", **unmatched) + 1
    )
    assert "987654321" not in after and "/no/such" not in after
    # /metrics does not count itself.
    assert 'route="/metrics"' not in after
    statement = {"db_query_summary": "blog_detail"}
    assert sample(after, "db_client_operation_duration_seconds_count", **statement) == (
        sample(before, "db_client_operation_duration_seconds_count", **statement) + 2
    )


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_the_api_documents_are_counted_under_their_own_routes(
    client: AsyncClient, path: str
) -> None:
    before = await scrape(client)
    assert (await client.get(path)).status_code == 200
    after = await scrape(client)
    labels = {"method": "GET", "route": path, "status": "200"}
    assert sample(after, "http_server_requests_total", **labels) == (
        sample(before, "http_server_requests_total", **labels) + 1
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "200"}
    assert sample(after, "http_server_requests_total", **unmatched) == 0


async def test_build_info_names_the_versions(client: AsyncClient) -> None:
    text = await scrape(client)
    assert re.search(r'blog_api_build_info\{postgresql="\d+[^"]*",python="3\.\d+', text), text


async def test_an_exhausted_pool_shows_waiting_requests_and_a_timeout(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=0.5) as client:
        app: FastAPI = client._transport.app  # type: ignore[attr-defined]
        before = await scrape(client)
        async with app.state.databases.primary.connection() as held:
            await held.raw()  # the pool's only connection, taken
            waiting = asyncio.create_task(client.get("/blogs/1"))
            await asyncio.sleep(0.2)
            during = await scrape(client)
            answer = await waiting
        after = await scrape(client)
    assert answer.status_code == 503
    assert answer.json()["request_id"] == answer.headers["x-request-id"]
    assert sample(during, "db_client_connection_pending_requests") >= 1
    assert sample(during, "db_client_connection_count", state="used") >= 1
    timeouts = "db_client_connection_timeouts_total"
    assert sample(after, timeouts) == sample(before, timeouts) + 1
    refused = {"status": "503", "reason": "pool_exhausted"}
    assert sample(after, "blog_api_refusals_total", **refused) == (
        sample(before, "blog_api_refusals_total", **refused) + 1
    )
    assert sample(after, "db_client_connection_pending_requests") == 0


async def test_metrics_can_need_a_token_or_be_off(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    token = "m" * 40
    async with in_process(url, settings=settings_for(url, metrics_token=token)) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert right.status_code == 200
    async with in_process(url, settings=settings_for(url, metrics_enabled=False)) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_several_workers_report_the_sum_of_their_counts(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database()
    folder = tmp_path / "metrics"
    folder.mkdir()
    # Left by an earlier run: serve must start from an empty folder, or this breaks the sum.
    (folder / "counter_1.db").write_bytes(b"not a metrics file")
    async with serving(url, WORKERS="3", PROMETHEUS_MULTIPROC_DIR=str(folder)) as server:

        async def one() -> int:
            async with server.client(timeout=30) as client:
                return (await client.get("/health")).status_code

        codes = await asyncio.gather(*(one() for _ in range(45)))
        assert set(codes) == {200}
        async with server.client(timeout=30) as client:
            text = await scrape(client)
            pids = {p.name for p in folder.glob("counter_*.db")}
    health = {"method": "GET", "route": "/health", "status": "200"}
    # The server's own readiness probe (serving() waits on /health) adds to the count too.
    assert sample(text, "http_server_requests_total", **health) >= 45
    assert len(pids) >= 2  # more than one worker wrote counts
