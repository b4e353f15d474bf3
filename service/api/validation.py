"""Validation errors as a client may be shown them: in plain words, never repeating a secret,
and at most `MAX_ERRORS` of them.

What a request sent comes back in an error's `input` only when it cannot hold a secret: a single
value (never an object, a list or bytes, so never the body as a whole: a JSON object sent
without its content type, say), not the value of a secret field (`password`,
`current_password`, a token), of an unknown field, or of what should have been an object. A
body that is not a JSON object is told what to send instead. Objects and lists are never shown,
so no cost grows with the size of what was sent.
"""

from collections.abc import Sequence
from typing import Any

from service.models import PATTERN_RULES, SECRET_FIELDS

MAX_ERRORS = 20
"""The most validation errors one answer lists; one more entry says how many were left out."""

NOT_AN_OBJECT = "send a JSON object with Content-Type: application/json"
HIDDEN = "[hidden]"

# Errors whose input is never shown: something that should have been an object (the body, an
# envelope), the object a required field is missing from, and the value of an unknown field
# (which may be a whole body sent one level too deep). The client has them at hand anyway.
_INPUT_NOT_SHOWN = frozenset(
    {
        "model_type",
        "model_attributes_type",
        "dict_type",
        "dataclass_type",
        "missing",
        "extra_forbidden",
    }
)
# What a body that is missing, or is not an object, gets as its error.
_NOT_AN_OBJECT = frozenset(
    {"model_type", "model_attributes_type", "dict_type", "dataclass_type", "missing"}
)
_SHOWN = (str, int, float, bool, type(None))
_VALUE_ERROR_PREFIX = "Value error, "


def safe_errors(errors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first MAX_ERRORS errors made safe, and a last entry counting the others."""
    listed = [_safe(error) for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        left_out = len(errors) - MAX_ERRORS
        listed.append(
            {
                "type": "too_many_errors",
                "loc": [],
                "msg": (
                    f"{left_out} more error{'s' if left_out > 1 else ''} not listed: at most "
                    f"{MAX_ERRORS} are; fix these and send again"
                ),
            }
        )
    return listed


def _safe(error: dict[str, Any]) -> dict[str, Any]:
    kind = error.get("type", "value_error")
    loc = list(error.get("loc", ()))
    safe: dict[str, Any] = {"type": kind, "loc": loc, "msg": _message(error)}
    if loc == ["body"] and kind in _NOT_AN_OBJECT:
        safe["msg"] = NOT_AN_OBJECT
    value = error.get("input")
    # Only a single value is shown, never an object or a list (or bytes), which may hold secrets.
    if "input" in error and kind not in _INPUT_NOT_SHOWN and isinstance(value, _SHOWN):
        secret = SECRET_FIELDS.intersection(map(str, loc))
        safe["input"] = HIDDEN if secret else value
    ctx = {
        key: value
        for key, value in (error.get("ctx") or {}).items()
        if isinstance(value, str | int | float | bool) and key != "pattern"
    }
    if ctx:
        safe["ctx"] = ctx
    return safe


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern"))
        return PATTERN_RULES.get(pattern, "has a character that is not allowed here")
    return message.removeprefix(_VALUE_ERROR_PREFIX)
