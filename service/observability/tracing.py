"""OpenTelemetry traces, optional (`pip install -e '.[otel]'`).

When OTEL_EXPORTER_OTLP_ENDPOINT is set (OpenTelemetry's standard variable; the exporter reads
the rest of its OTEL_* settings itself), `provider_from_environment` makes a tracer provider
that exports over OTLP/HTTP. The app hands it to FastAPI, which opens a server span for each
request, and to the database, which opens a child span for each named SQL statement, named after
the statement and never carrying its parameters. Without a provider nothing is traced and the
database skips tracing after one check.
"""

import os
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry.trace import Span, SpanKind, Tracer

DATABASE_SYSTEM = "postgresql"


def provider_from_environment(service_name: str = "blog-api") -> Any:
    """A tracer provider exporting over OTLP, or None when OTEL_EXPORTER_OTLP_ENDPOINT is unset."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is not installed: "
            "pip install -e '.[otel]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def database_tracer(provider: Any) -> Tracer:
    tracer: Tracer = provider.get_tracer("service.db")
    return tracer


def statement_span(tracer: Tracer, name: str) -> AbstractContextManager[Span]:
    """A client span for one named statement, around its run."""
    return tracer.start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={"db.system.name": DATABASE_SYSTEM, "db.query.summary": name},
    )
