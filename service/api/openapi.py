"""OpenAPI descriptions of the responses routes can give besides their success."""

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    detail: str


def _description(status_code: int) -> str:
    return {
        400: "The body could not be parsed (not UTF-8, or nested too deep).",
        401: (
            "No token (send `Authorization: Bearer <token>`, the access_token from POST "
            "/auth/token), a header with another scheme, or a token that is invalid, expired, "
            "of a deleted user or from before a password change; the message says which."
        ),
        403: "The caller does not own this resource, or `current_password` is wrong.",
        404: "No such resource.",
        409: "The change conflicts with existing data.",
        412: "`If-Match` names a version the resource no longer has; nothing was changed.",
        413: "The request body is larger than the limit.",
        429: "Too many attempts; retry after `Retry-After` seconds.",
        503: (
            "The database, or every password-hashing slot, is busy or unavailable; retry "
            "after `Retry-After` seconds."
        ),
    }[status_code]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error responses a route can give."""
    return {
        code: {"model": ErrorMessage, "description": _description(code)} for code in (*codes, 503)
    }


NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The client's copy (`If-None-Match`) is current."}
}


CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Created; `Location` is the new resource's path.",
        "headers": {
            "Location": {
                "description": "The path of what was created, e.g. `/blogs/12`.",
                "schema": {"type": "string"},
            }
        },
    }
}
