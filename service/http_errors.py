"""Map domain and database errors to HTTP responses in FastAPI's `{"detail": ...}` shape."""

import json
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service.database import CONNECTION_ERRORS
from service.errors import (
    AuthenticationFailed,
    Conflict,
    DatabaseUnavailable,
    DomainError,
    Forbidden,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    TooManyAttempts,
)

RETRY_AFTER_SECONDS = "1"


class ErrorMessage(BaseModel):
    detail: str


_STATUS: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    PreconditionFailed: status.HTTP_412_PRECONDITION_FAILED,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
    AuthenticationFailed: status.HTTP_401_UNAUTHORIZED,
    DatabaseUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}

_HEADERS: dict[type[DomainError], dict[str, str]] = {
    AuthenticationFailed: {"WWW-Authenticate": "Bearer"},
    DatabaseUnavailable: {"Retry-After": RETRY_AFTER_SECONDS},
}


def _description(status_code: int) -> str:
    return {
        400: "The body could not be parsed (not UTF-8, or nested too deep).",
        401: "No token, or a token that is invalid, expired or of a deleted user.",
        403: "The caller does not own this resource.",
        404: "No such resource.",
        409: "The change conflicts with existing data.",
        412: "`If-Match` names a version the resource no longer has; nothing was changed.",
        413: "The request body is larger than the limit.",
        429: "Too many failed attempts; retry after `Retry-After` seconds.",
        503: "The database is unavailable or busy; retry after `Retry-After` seconds.",
    }[status_code]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error responses a route can give."""
    return {
        code: {"model": ErrorMessage, "description": _description(code)} for code in (*codes, 503)
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
    kind = type(exc)
    headers = _HEADERS.get(kind)
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": exc.message}, _STATUS[kind], headers=headers)


class _AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, but safe for inputs that are not valid Unicode (lone surrogates), which
    the default response, echoing the input as UTF-8, cannot encode."""
    assert isinstance(exc, RequestValidationError)
    return _AsciiJSONResponse(
        {"detail": jsonable_encoder(exc.errors())}, status.HTTP_422_UNPROCESSABLE_CONTENT
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return await _domain_error(
        request, DatabaseUnavailable("the database is unavailable; try again")
    )


async def _invalid_data(request: Request, exc: Exception) -> JSONResponse:
    # A value PostgreSQL refuses (SQLSTATE class 22) came from the request: a 4xx, not a 500.
    # Validation should have caught it first; this is the net under it.
    detail = [
        {
            "type": "value_error",
            "loc": ["body"],
            "msg": "the request contains a value the database cannot store",
            "input": None,
        }
    ]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _query_canceled(request: Request, exc: Exception) -> JSONResponse:
    return await _domain_error(request, DatabaseUnavailable("the database is busy; try again"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DomainError, _domain_error)
    for error in CONNECTION_ERRORS:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(asyncpg.exceptions.DataError, _invalid_data)
    # statement_timeout on the server, command_timeout on the client.
    app.add_exception_handler(asyncpg.exceptions.QueryCanceledError, _query_canceled)
    app.add_exception_handler(TimeoutError, _query_canceled)
