"""Errors under /api in the spec's shape, `{"errors": {"body": ["..."]}}`.

service.api.error_handlers decides status, headers and metrics once for both APIs; this renders
its `Problem` for a request under /api: the message(s) go into `errors.body`, a validation error
becomes `"<where>: <what>"` (never the input, so never a password), the 401's challenge names
the `Token` scheme, and a conflict (a taken username or email, a follow past the limit) is a 422,
the only error status the spec gives besides 401.
"""

from typing import Any

from fastapi import status
from fastapi.responses import Response

from service.api.error_handlers import AsciiJSONResponse, Problem
from service.errors import Conflict

PREFIX = "/api"


def _where(loc: list[Any]) -> str:
    """`user.email`, `query.limit`, or `body` for the body as a whole (or a place in its JSON)."""
    if loc and loc[0] == "body":
        if len(loc) == 1 or isinstance(loc[1], int):
            return "body"
        loc = loc[1:]
    return ".".join(str(part) for part in loc)


def messages(detail: str | list[dict[str, Any]]) -> list[str]:
    """The messages in a problem's detail: a message, or validation errors."""
    if isinstance(detail, list):
        found = []
        for error in detail:
            where = _where(error.get("loc", []))
            message = str(error.get("msg", "invalid"))
            found.append(f"{where}: {message}" if where else message)
        return found
    return [str(detail)]


def errors_body(*body: str) -> dict[str, Any]:
    return {"errors": {"body": list(body)}}


def render(problem: Problem, exc: Exception) -> Response:
    if problem.status in (status.HTTP_204_NO_CONTENT, status.HTTP_304_NOT_MODIFIED):
        return Response(status_code=problem.status, headers=problem.headers)
    content = errors_body(*messages(problem.detail))
    if problem.request_id is not None:
        content["request_id"] = problem.request_id
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if isinstance(exc, Conflict) else problem.status
    headers = dict(problem.headers or {})
    if any(key.lower() == "www-authenticate" for key in headers):
        headers = {k: v for k, v in headers.items() if k.lower() != "www-authenticate"}
        headers["WWW-Authenticate"] = "Token"
    return AsciiJSONResponse(content, code, headers=headers)
