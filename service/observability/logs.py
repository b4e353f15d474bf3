"""Log lines as JSON (one object per line, for machines) or text (for a terminal), each with
the request id and user id of the request being handled when it was written.

Nothing here logs a request's body, headers or query: those may carry passwords, tokens and
email addresses. What is logged is chosen field by field.
"""

import json
import logging
import sys
import traceback
from types import TracebackType
from typing import Any, Literal

from pydantic_core import ValidationError

from service.observability import context

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# Attributes every LogRecord has; anything else was passed in `extra` and is logged as a field.
# (uvicorn adds `color_message`, the message with terminal colours: not a field worth keeping.)
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class RequestContext(logging.Filter):
    """Adds the request id and user id of the request being handled to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = context.request_id.get()
        if getattr(record, "user_id", None) is None:
            record.user_id = context.user_id.get()
        return True


def exception_text(exc_info: ExcInfo) -> str:
    """The traceback, without the message of any exception in its chain that repeats what a
    request sent: a validation error's message shows its inputs (an email, a password), so only
    its kind and count are kept."""
    summary = traceback.TracebackException(*exc_info)
    seen: set[int] = set()
    part: traceback.TracebackException | None = summary
    while part is not None and id(part) not in seen:
        seen.add(id(part))
        if part.exc_type is not None and issubclass(part.exc_type, ValidationError):
            # Read by format_exception_only; there is no public way to set it.
            setattr(part, "_str", "(its inputs are not logged)")  # noqa: B010
        part = part.__cause__ or part.__context__
    return "".join(summary.format()).rstrip("\n")


class JsonFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        return exception_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and value is not None
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        return exception_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD and value is not None
        )
        text = f"{record.levelname}: {record.getMessage()}" + (f" [{fields}]" if fields else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def dict_config(*, fmt: Literal["auto", "json", "text"], level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for `serve`, which applies it before its first line, and
    for uvicorn, which applies it again in its own process and in every worker: every logger,
    ours, uvicorn's and the libraries', to stderr in one format. uvicorn's own access log stays
    off; ours is `service.access`."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": f"{__name__}.RequestContext"}},
        "formatters": {"default": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error")
        },
    }
