"""One mapping of errors to HTTP answers, rendered in the shape of the API that was called.

A domain error, a validation error or an HTTP error becomes a `Problem` (status, headers, what
to say) once, here: refusals (429, 503) are counted by reason, 503s carry the request id, and a
validation error never repeats a secret. Each API renders problems in its own shape: the native
one as FastAPI's `{"detail": ...}` (`render_native`), the RealWorld one under /api as the spec's
(`service.api.realworld.errors`). An unknown exception is a bug: the Observe middleware logs it
and answers a JSON 500.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from service.api.validation import safe_errors
from service.errors import (
    AuthenticationFailed,
    Conflict,
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    HashingBusy,
    InvalidCursor,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    TooManyAttempts,
)
from service.observability import context, metrics

RETRY_AFTER_SECONDS = "1"


@dataclass(frozen=True)
class Problem:
    """What an error answers, whatever the API's shape."""

    status: int
    detail: str | list[dict[str, Any]]
    """A message, or validation errors as FastAPI lists them (never a secret's input)."""
    headers: Mapping[str, str] | None = None
    request_id: str | None = None
    """Set on 503s, so a user's report of one can be found in the logs."""


Renderer = Callable[[Problem, Exception], Response]


class AsciiJSONResponse(JSONResponse):
    """Compact JSON in ASCII: safe for messages and inputs that are not valid Unicode (lone
    surrogates), which UTF-8 cannot encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


_STATUS: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    PreconditionFailed: status.HTTP_412_PRECONDITION_FAILED,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
    AuthenticationFailed: status.HTTP_401_UNAUTHORIZED,
    DatabaseUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    HashingBusy: status.HTTP_503_SERVICE_UNAVAILABLE,
}

_HEADERS: dict[type[DomainError], dict[str, str]] = {
    AuthenticationFailed: {"WWW-Authenticate": "Bearer"},
    DatabaseUnavailable: {"Retry-After": RETRY_AFTER_SECONDS},
    HashingBusy: {"Retry-After": RETRY_AFTER_SECONDS},
}


def domain_problem(request: Request, exc: DomainError) -> Problem:
    if isinstance(exc, InvalidCursor):
        cursor = request.query_params.get("cursor")
        error = {"type": "value_error", "loc": ["query", "cursor"], "msg": exc.message}
        return Problem(status.HTTP_422_UNPROCESSABLE_CONTENT, [error | {"input": cursor}])
    if isinstance(exc, InvalidValue):
        return Problem(status.HTTP_422_UNPROCESSABLE_CONTENT, [_invalid_value(request, exc)])
    code = _STATUS[type(exc)]
    if isinstance(exc, TooManyAttempts):
        metrics.refusals.labels("429", "rate_limited").inc()
        return Problem(code, exc.message, {"Retry-After": str(exc.retry_after)})
    if code == status.HTTP_503_SERVICE_UNAVAILABLE:
        reason = exc.reason if isinstance(exc, DatabaseUnavailable) else "hashing_busy"
        metrics.refusals.labels("503", reason).inc()
        if isinstance(exc, DatabaseUnavailable) and exc.during_failover:
            metrics.failover_refusals.inc()
        return Problem(code, exc.message, _HEADERS[type(exc)], context.request_id.get())
    return Problem(code, exc.message, _HEADERS.get(type(exc)))


def _invalid_value(request: Request, exc: InvalidValue) -> dict[str, Any]:
    """A refused value as FastAPI reports an invalid one, located where the request sent it."""
    if exc.field in request.path_params:
        where, value = "path", request.path_params[exc.field]
    elif exc.field in request.query_params:
        where, value = "query", request.query_params[exc.field]
    else:
        where, value = "body", None
    return {"type": "value_error", "loc": [where, exc.field], "msg": exc.message, "input": value}


def validation_problem(exc: RequestValidationError) -> Problem:
    return Problem(
        status.HTTP_422_UNPROCESSABLE_CONTENT, jsonable_encoder(safe_errors(exc.errors()))
    )


def http_problem(exc: HTTPException) -> Problem:
    return Problem(exc.status_code, exc.detail, exc.headers)


def render_native(problem: Problem, exc: Exception) -> Response:
    """FastAPI's shape: `{"detail": ...}` (and the request id of a 503)."""
    if problem.status in (status.HTTP_204_NO_CONTENT, status.HTTP_304_NOT_MODIFIED):
        return Response(status_code=problem.status, headers=problem.headers)
    content: dict[str, Any] = {"detail": problem.detail}
    if problem.request_id is not None:
        content["request_id"] = problem.request_id
    return AsciiJSONResponse(content, problem.status, headers=problem.headers)


def install(app: FastAPI, *, shapes: Mapping[str, Renderer] | None = None) -> None:
    """Answer errors in the native shape, or in `shapes[prefix]`'s for a path under a prefix."""
    under = [(prefix, prefix + "/", render) for prefix, render in (shapes or {}).items()]

    def render(request: Request, problem: Problem, exc: Exception) -> Response:
        path = request.url.path
        for prefix, folder, shape in under:
            if path == prefix or path.startswith(folder):
                return shape(problem, exc)
        return render_native(problem, exc)

    async def domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return render(request, domain_problem(request, exc), exc)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(request, validation_problem(exc), exc)

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return render(request, http_problem(exc), exc)

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
