"""Entity tags: `ETag` on blogs and pages, `If-None-Match` (304) and `If-Match` (412).

A blog's tag carries its version (updated_at, in hex microseconds) and a hash of its bytes, which
also hold what changes without a new version (its favorites count, its owner's profile, the
reader's flags). `If-Match` is checked against the version, inside the UPDATE itself, so a
concurrent edit can never slip in between the check and the write. A page's tag is a hash of its
bytes.
"""

import hashlib
from datetime import datetime

from fastapi import Response, status
from pydantic import BaseModel

from service.models import Blog
from service.timestamps import from_micros, to_micros

_JSON = "application/json"


def blog_etag(updated_at: datetime, body: bytes) -> str:
    return f'"{to_micros(updated_at):x}.{hashlib.sha256(body).hexdigest()[:16]}"'


def content_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` lets the full response through (weak comparison)."""
    if if_none_match is None:
        return True
    tags = _tags(if_none_match)
    return "*" not in tags and etag not in {tag.removeprefix("W/") for tag in tags}


def versions(if_match: str | None) -> list[datetime] | None:
    """The blog versions `If-Match` accepts; None when any version will do."""
    if if_match is None or "*" in _tags(if_match):
        return None
    accepted = []
    for tag in _tags(if_match):
        # Strong comparison: weak and malformed tags match nothing.
        version, _, _ = tag.strip('"').partition(".")
        try:
            if tag.startswith('"') and tag.endswith('"'):
                accepted.append(from_micros(int(version, 16)))
        except (ValueError, OverflowError):
            pass
    return accepted


def blog_response(
    blog: Blog, *, if_none_match: str | None = None, status_code: int = status.HTTP_200_OK
) -> Response:
    """The blog as JSON with its ETag, or a bodiless 304 when the client's copy is current."""
    body = blog.__pydantic_serializer__.to_json(blog)
    etag = blog_etag(blog.updated_at, body)
    if not none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return Response(body, status_code=status_code, media_type=_JSON, headers={"ETag": etag})


def json_response(
    model: BaseModel, *, if_none_match: str | None = None, status_code: int = status.HTTP_200_OK
) -> Response:
    """The model as JSON tagged with a hash of its bytes, or a bodiless 304 when the client's
    copy is current."""
    body = model.__pydantic_serializer__.to_json(model)
    etag = content_etag(body)
    if not none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return Response(body, status_code=status_code, media_type=_JSON, headers={"ETag": etag})
