"""OpenAPI descriptions of the RealWorld routes' error responses (`{"errors": {"body": [...]}}`)."""

from typing import Any

from service.api.openapi import ErrorMessage
from service.api.realworld.models import GenericErrorModel

_DESCRIPTIONS = {
    400: "The body could not be parsed (not UTF-8, or nested too deep).",
    401: (
        "No token (send `Authorization: Token <token>`), a malformed header, or a token that is "
        "invalid, expired, of a deleted user or from before a password change."
    ),
    403: "Not the caller's to change, or a wrong `current_password`.",
    404: "No such article, comment or profile.",
    422: (
        "Invalid input (`<where>: <what is allowed>`, at most 20 messages and one counting the "
        "rest; a body that is not a JSON object is told to send one), a taken username or "
        "email, or a follow past the limit."
    ),
    413: "The request body is larger than the limit (answered before the app: `{detail}`).",
    429: (
        "Too many attempts or writes; retry after `Retry-After` seconds. A client already known "
        "to be over a sign-up or login limit is answered before the app, as `{detail}`."
    ),
    503: "The database, or every password-hashing slot, is busy; retry after `Retry-After`.",
}


# Answered by middleware before the app, in the native shape.
_MODELS: dict[int, Any] = {413: ErrorMessage, 429: GenericErrorModel | ErrorMessage}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": _MODELS.get(code, GenericErrorModel), "description": _DESCRIPTIONS[code]}
        for code in (*codes, 422, 503)
    }
