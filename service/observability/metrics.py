"""Prometheus metrics, named after OpenTelemetry's semantic conventions where they have one
(`http.server.request.duration` is `http_server_request_duration_seconds`, the pool's
`db.client.connection.*` are `db_client_connection_*`), and `blog_api_*` where they do not.

With several worker processes `serve` points PROMETHEUS_MULTIPROC_DIR at an empty folder before
the workers start; each worker then writes its samples there and any of them renders the sum.
Labels are bounded: route templates (never raw paths), methods, status codes, statement names
and a few fixed reasons.
"""

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)

__all__ = ["CONTENT_TYPE_LATEST", "render"]

# No `_created` series: they double the output and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: from a cached primary-key read to the statement timeout.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

requests = Counter(
    "http_server_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
request_duration = Histogram(
    "http_server_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
requests_in_progress = Gauge(
    "http_server_active_requests",
    "HTTP requests being handled now.",
    ["method"],
    multiprocess_mode="livesum",
)

connections = Gauge(
    "db_client_connection_count",
    "Pooled database connections, by state (used or idle).",
    ["state"],
    multiprocess_mode="livesum",
)
connections_max = Gauge(
    "db_client_connection_max",
    "The most connections the pools may open.",
    multiprocess_mode="livesum",
)
connection_waiting = Gauge(
    "db_client_connection_pending_requests",
    "Requests waiting for a pooled connection.",
    multiprocess_mode="livesum",
)
connection_wait = Histogram(
    "db_client_connection_wait_time_seconds",
    "Time to get a pooled connection.",
    buckets=_LATENCY_BUCKETS,
)
connection_timeouts = Counter(
    "db_client_connection_timeouts",
    "Requests that gave up waiting for a pooled connection (DB_ACQUIRE_TIMEOUT).",
)

statement_duration = Histogram(
    "db_client_operation_duration_seconds",
    "Time to run a named SQL statement (sql/queries/), by name.",
    ["db_query_summary"],
    buckets=_LATENCY_BUCKETS,
)
statement_errors = Counter(
    "db_client_operation_errors",
    "Named SQL statements that failed, by name and kind (statement_timeout, connection_lost).",
    ["db_query_summary", "error_type"],
)

refusals = Counter(
    "blog_api_refusals",
    "Requests refused with 429 or 503, by status and reason.",
    ["status", "reason"],
)
failovers = Gauge(
    "blog_api_failovers_seen",
    "Times the primary's address changed between two new connections (a failover), as counted "
    "by the worker that has seen the most.",
    multiprocess_mode="max",
)
failover_refusals = Counter(
    "blog_api_failover_refusals",
    "Requests answered 503 between the loss of the primary (a lost connection, or one found "
    "read-only) and the next connection to a server that takes writes.",
)
hashes_in_progress = Gauge(
    "blog_api_password_hashes_in_progress",
    "Passwords being hashed or verified now.",
    multiprocess_mode="livesum",
)
hashes_waiting = Gauge(
    "blog_api_password_hashes_waiting",
    "Requests waiting for a password hashing slot.",
    multiprocess_mode="livesum",
)
read_cache_lookups = Counter(
    "blog_api_read_cache_lookups",
    "Anonymous reads looked up in the response cache, by result (hit or miss).",
    ["result"],
)
read_cache_stores = Counter(
    "blog_api_read_cache_stores",
    "Responses offered to the cache after a miss, by outcome: stored, or refused "
    "(refused_first_sight: its key's first miss, remembered and not stored; refused_race: "
    "something it shows changed while it was read; refused_replica: read on a replica within "
    "its lag of a change; refused_not_listening; refused_too_large).",
    ["outcome"],
)
read_cache_evictions = Counter(
    "blog_api_read_cache_evictions",
    "Cached responses dropped, by reason (budget, age, invalidated).",
    ["reason"],
)
read_cache_invalidations = Counter(
    "blog_api_read_cache_invalidations",
    "Change notifications received from PostgreSQL.",
)
read_cache_listening = Gauge(
    "blog_api_read_cache_listening",
    "Workers whose cache receives change notifications (a worker that does not bypasses it).",
    multiprocess_mode="livesum",
)
read_cache_bytes = Gauge(
    "blog_api_read_cache_bytes",
    "Bytes the cached responses take, as the byte budget counts them.",
    multiprocess_mode="livesum",
)
build_info = Gauge(
    "blog_api_build_info",
    "Always 1; the labels say what runs.",
    ["version", "python", "postgresql"],
    multiprocess_mode="max",
)


def _multiprocess() -> bool:
    # Decided by prometheus_client when it was imported, from PROMETHEUS_MULTIPROC_DIR.
    return values.ValueClass is not values.MutexValue


def render() -> bytes:
    """Every metric in the text exposition format, summed over the worker processes."""
    if _multiprocess():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
