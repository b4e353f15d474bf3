"""Errors under /api in the spec's shape, `{"errors": {"body": ["..."]}}`.

The native handlers decide status, headers and metrics (one mapping of domain errors to HTTP);
for a request under /api their answer is rewritten: the message(s) move into `errors.body`, a
validation error becomes `"<where>: <what>"` (never the input, so never a password), the 401's
challenge names the `Token` scheme, and a conflict (a taken username or email, a follow past
the limit) is a 422, the only error status the spec gives besides 401.
"""

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from service.errors import Conflict, DomainError

PREFIX = "/api"

Handler = Callable[[Request, Exception], Awaitable[Response]]
NativeHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def under_api(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def _where(loc: list[Any]) -> str:
    """`user.email`, `query.limit`, or `body` for the body as a whole (or a place in its JSON)."""
    if loc and loc[0] == "body":
        if len(loc) == 1 or isinstance(loc[1], int):
            return "body"
        loc = loc[1:]
    return ".".join(str(part) for part in loc)


def messages(detail: Any) -> list[str]:
    """The messages in a native `detail`: a string, or FastAPI's list of validation errors."""
    if isinstance(detail, list):
        found = []
        for error in detail:
            where = _where(error.get("loc", []))
            found.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
        return found
    return [str(detail)]


def errors_body(*body: str) -> dict[str, Any]:
    return {"errors": {"body": list(body)}}


class _AsciiJSONResponse(JSONResponse):
    """Safe for messages naming keys that are not valid Unicode (lone surrogates)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _rewrite(response: Response, exc: Exception) -> Response:
    native = json.loads(bytes(response.body)) if response.body else {}
    content: dict[str, Any] = errors_body(*messages(native.get("detail", "")))
    if "request_id" in native:
        content["request_id"] = native["request_id"]
    code = response.status_code
    if isinstance(exc, Conflict):
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
    headers = {
        key: value
        for key, value in response.headers.items()
        if key.lower() not in ("content-length", "content-type")
    }
    if "www-authenticate" in headers:
        headers["www-authenticate"] = "Token"
    return _AsciiJSONResponse(content, code, headers=headers)


def _wrapped(native: NativeHandler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        answer = native(request, exc)
        response = await answer if inspect.isawaitable(answer) else answer
        return _rewrite(response, exc) if under_api(request) else response

    return handle


def install(app: FastAPI) -> None:
    """Wrap the native handlers of domain, validation and HTTP errors (call after theirs)."""
    for kind in (DomainError, RequestValidationError, HTTPException):
        native = app.exception_handlers[kind]
        app.add_exception_handler(kind, _wrapped(native))
