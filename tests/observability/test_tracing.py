"""Traces through OpenTelemetry's in-memory exporter: a server span per request, a database span
per named statement under it, named after the statement and without its parameters."""

import pytest
from httpx import ASGITransport, AsyncClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from service.api.app import create_app
from service.db.database import Database
from service.testing.accounts import sign_up_with
from service.testing.app import settings_for

pytestmark = pytest.mark.anyio


async def test_a_read_gives_a_server_span_with_its_statement_under_it(database_url: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    database = Database(database_url, min_size=1, max_size=1, force_rollback=True)
    app = create_app(settings_for(database_url), database=database, tracer_provider=provider)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        user = await sign_up_with(client)
        created = await client.post(
            "/blogs", json={"title": "traced", "body": "b"}, headers=user.headers
        )
        blog_id = created.json()["id"]
        exporter.clear()
        assert (await client.get(f"/blogs/{blog_id}")).status_code == 200
    spans = exporter.get_finished_spans()
    servers = [s for s in spans if s.kind == SpanKind.SERVER]
    databases = [s for s in spans if s.kind == SpanKind.CLIENT]
    assert [s.name for s in servers] == ["GET /blogs/{blog_id}"]
    assert [s.name for s in databases] == ["blog_detail"]
    (server,), (statement,) = servers, databases
    # Under the server span, through FastAPI's own endpoint span.
    parents = {s.context.span_id: s.parent.span_id if s.parent else None for s in spans}
    ancestors, span_id = [], statement.context.span_id
    while (span_id := parents.get(span_id)) is not None:
        ancestors.append(span_id)
    assert ancestors[-1] == server.context.span_id
    assert statement.context.trace_id == server.context.trace_id
    assert statement.attributes == {
        "db.system.name": "postgresql",
        "db.query.summary": "blog_detail",
    }
    assert str(blog_id) not in str(statement.attributes)
