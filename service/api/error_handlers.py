"""Map domain errors to HTTP responses in FastAPI's `{"detail": ...}` shape (503s also carry the
request id); refusals (429, 503) are counted by reason. An unknown exception is a bug: the
Observe middleware logs it and answers a JSON 500."""

import json
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
from service.models import SECRET_FIELDS
from service.observability import context, metrics

RETRY_AFTER_SECONDS = "1"


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


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, InvalidCursor):
        detail: Any = [
            {
                "type": "value_error",
                "loc": ["query", "cursor"],
                "msg": exc.message,
                "input": request.query_params.get("cursor"),
            }
        ]
        return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)
    if isinstance(exc, InvalidValue):
        return JSONResponse(
            {"detail": [_invalid_value(request, exc)]}, status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    kind = type(exc)
    code = _STATUS[kind]
    headers = _HEADERS.get(kind)
    body: dict[str, Any] = {"detail": exc.message}
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
        metrics.refusals.labels("429", "rate_limited").inc()
    elif code == status.HTTP_503_SERVICE_UNAVAILABLE:
        reason = exc.reason if isinstance(exc, DatabaseUnavailable) else "hashing_busy"
        metrics.refusals.labels("503", reason).inc()
        if isinstance(exc, DatabaseUnavailable) and exc.during_failover:
            metrics.failover_refusals.inc()
        # So a user's report of it can be found in the logs.
        body["request_id"] = context.request_id.get()
    return JSONResponse(body, code, headers=headers)


def _invalid_value(request: Request, exc: InvalidValue) -> dict[str, Any]:
    """A refused value as FastAPI reports an invalid one, located where the request sent it."""
    if exc.field in request.path_params:
        where, value = "path", request.path_params[exc.field]
    elif exc.field in request.query_params:
        where, value = "query", request.query_params[exc.field]
    else:
        where, value = "body", None
    return {"type": "value_error", "loc": [where, exc.field], "msg": exc.message, "input": value}


class _AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, but safe for inputs that are not valid Unicode (lone surrogates), which
    the default response, echoing the input as UTF-8, cannot encode."""
    assert isinstance(exc, RequestValidationError)
    return _AsciiJSONResponse(
        {"detail": jsonable_encoder([_without_secrets(error) for error in exc.errors()])},
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


def _without_secrets(error: dict[str, Any]) -> dict[str, Any]:
    """A validation error that does not echo what was sent as a password."""
    loc = error.get("loc", ())
    if SECRET_FIELDS.intersection(map(str, loc)):
        return {**error, "input": "[hidden]"} if "input" in error else error
    if isinstance(error.get("input"), dict) and SECRET_FIELDS.intersection(error["input"]):
        hidden = {k: "[hidden]" if k in SECRET_FIELDS else v for k, v in error["input"].items()}
        return {**error, "input": hidden}
    return error


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DomainError, _domain_error)
