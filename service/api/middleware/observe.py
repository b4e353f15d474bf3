"""Request ids, request metrics and the access log, in one pure ASGI middleware (one layer, so
the per-request cost is a few dictionary lookups and clock reads).

- `X-Request-ID`: a client's own id is kept when it is 1-64 characters of `A-Za-z0-9._-`,
  otherwise a new one is made; it is returned on every response and set in the logging context.
- Metrics are labelled by the route template that answered (`/blogs/{blog_id}`, `/docs`),
  or `unmatched`, so made-up paths cannot grow the label set. `/metrics` is left out of its own
  numbers.
- An exception no handler knew becomes a JSON 500 carrying the request id, and is logged.
- The access log is one line per request (ACCESS_LOG): method, route, status, duration, request
  id and, when a token named them, the user id. A request slower than SLOW_REQUEST_MS is logged
  as a warning either way.
"""

import json
import logging
import random
import re
import time

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability import context, metrics

logger = logging.getLogger("service.access")

_SANE_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_UNMATCHED = "unmatched"
# As OpenTelemetry's conventions say: any other method is counted as _OTHER, so a client
# cannot add label values by sending made-up methods.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Observe:
    def __init__(
        self, app: ASGIApp, *, access_log: bool, slow_request_ms: int, skip: frozenset[str]
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.slow_seconds = slow_request_ms / 1000
        self.skip = skip
        self._known: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._in_progress: dict[str, Gauge] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.skip:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        id_token = context.request_id.set(request_id)
        user_token = context.user_id.set(None)
        header = (b"x-request-id", request_id.encode())
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        in_progress = self._in_progress.get(method)
        if in_progress is None:
            in_progress = self._in_progress[method] = metrics.requests_in_progress.labels(method)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug, never the client's doing: logged with its request id, answered as JSON.
            logger.exception("unhandled error", extra={"method": method, "path": scope["path"]})
            if not status:
                await send_with_id(_internal_error_start())
                await send({"type": "http.response.body", "body": _internal_error(request_id)})
            status = 500
        finally:
            in_progress.dec()
            elapsed = time.perf_counter() - started
            route = _route_label(scope)
            counted, timed = self._series(method, route, status)
            counted.inc()
            timed.observe(elapsed)
            # A refusal may be slow on purpose (see early_refusals.py): not worth a warning.
            slow = elapsed >= self.slow_seconds and status != 429
            if self.access_log or slow:
                logger.log(
                    logging.WARNING if slow else logging.INFO,
                    "slow request" if slow else "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                        "request_id": request_id,
                        "user_id": context.user_id.get(),
                    },
                )
            context.user_id.reset(user_token)
            context.request_id.reset(id_token)

    def _series(self, method: str, route: str, status: int) -> tuple[Counter, Histogram]:
        """The request counter and histogram for these labels (found once, then kept)."""
        key = (method, route, status)
        series = self._known.get(key)
        if series is None:
            code = str(status)
            series = self._known[key] = (
                metrics.requests.labels(method, route, code),
                metrics.request_duration.labels(method, route, code),
            )
        return series


def _internal_error(request_id: str) -> bytes:
    return json.dumps({"detail": "internal server error", "request_id": request_id}).encode()


def _internal_error_start() -> Message:
    return {
        "type": "http.response.start",
        "status": 500,
        "headers": [(b"content-type", b"application/json")],
    }


def _route_label(scope: Scope) -> str:
    """The template of the route that answered, or `unmatched`."""
    route = scope.get("route")
    if route is not None:
        path: str = route.path
        return path
    # Starlette's plain routes (FastAPI's /docs, /redoc and /openapi.json) leave the endpoint
    # that answered in the scope, but not the route: find the route by it.
    endpoint, router = scope.get("endpoint"), scope.get("router")
    if endpoint is not None and router is not None:
        for candidate in router.routes:
            if getattr(candidate, "endpoint", None) is endpoint:
                found: str = candidate.path
                return found
    return _UNMATCHED


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _SANE_ID.match(value):
                given: str = value.decode("ascii")
                return given
            break
    # Unique enough to find a request in the logs; not a secret, so no system call for it.
    return f"{random.getrandbits(64):016x}"
