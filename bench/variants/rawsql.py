"""What the raw asyncpg variants share (floor on Starlette, fastapi-floor on FastAPI).

The service's own SQL (sql/queries/), cursors, token codec, If-Match parser and blog ETag are
imported, so every variant reads and writes the same rows with the same rules; what differs is
the stack around them. Bodies are orjson bytes built from plain dicts, in the service's exact
field order. Reads take an optional bearer token, as the service's do: the queries count the
reader's favorites and follows.
"""

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from bench.variants.keyset import FIRST, from_micros, to_micros
from service.api.cursors import CursorCodec
from service.api.etags import blog_etag
from service.db.queries import Query
from service.errors import AuthenticationFailed
from service.tokens import TokenClaims, TokenCodec

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)"
CLAIMED_USER = (
    "SELECT id, name, username, bio, image, email, created_at FROM users"
    " WHERE id = $1 AND token_version = $2"
)
# The reader parameters of the service's queries for an anonymous reader.
ANONYMOUS = (None, None)
DEPLOYMENT = "SELECT id::text FROM deployment"
OPTIONS = orjson.OPT_UTC_Z
POOL_SIZE = 10

# The service's answers, word for word.
BLOG_NOT_FOUND = "blog not found"
USER_NOT_FOUND = "user not found"
NOT_AUTHENTICATED = "Not authenticated"
BAD_TOKEN = "the token is invalid or has expired"  # noqa: S105
NOT_OWNER = "only the owner may change this blog"
CHANGED = "the blog has changed since; fetch it again and retry"
BEARER = {"WWW-Authenticate": "Bearer"}

cursors = CursorCodec(os.environ["TOKEN_SECRET"])


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, option=OPTIONS)


def blog(row: asyncpg.Record) -> dict[str, Any]:
    """A row of the service's blog queries (sql/queries/), as the service shows it."""
    return {
        "id": row["id"],
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "body": row["body"],
        "tags": row["tags"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "favorites_count": row["favorites_count"],
        "favorited": row["favorited"],
        "owner": {
            "id": row["owner_id"],
            "name": row["owner_name"],
            "username": row["owner_username"],
            "bio": row["owner_bio"],
            "image": row["owner_image"],
            "following": row["owner_following"],
        },
    }


def user(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "username": row["username"],
        "bio": row["bio"],
        "image": row["image"],
        "email": row["email"],
        "created_at": row["created_at"],
    }


def tagged(row: asyncpg.Record) -> tuple[bytes, str]:
    """A blog's body and its ETag (the service's: its version and a hash of these bytes)."""
    body = dumps(blog(row))
    return body, blog_etag(row["updated_at"], body)


def page(rows: Sequence[asyncpg.Record], limit: int) -> dict[str, Any]:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(to_micros(last["created_at"]), last["id"])
    return {"items": [blog(row) for row in rows[:limit]], "next_cursor": next_cursor}


def before(cursor: str | None) -> tuple[datetime, int]:
    """Where a page starts; raises the service's InvalidCursor for a bad cursor."""
    if not cursor:
        return FIRST
    created_at, blog_id = cursors.decode(cursor, 2)
    return from_micros(created_at), blog_id


def invalid_cursor(cursor: str | None, message: str) -> dict[str, Any]:
    return {
        "detail": [
            {"type": "value_error", "loc": ["query", "cursor"], "msg": message, "input": cursor}
        ]
    }


async def token_codec(pool: asyncpg.Pool) -> TokenCodec:
    """The service's token rules: its key, issuer and this database's deployment id."""
    audience = await pool.fetchval(DEPLOYMENT)
    return TokenCodec(
        secret=os.environ["TOKEN_SECRET"],
        issuer=os.environ.get("TOKEN_ISSUER", "blog-api"),
        audience=audience,
        expires_in=timedelta(minutes=60),
    )


def claims(codec: TokenCodec, token: str) -> TokenClaims | None:
    try:
        return codec.decode(token)
    except AuthenticationFailed:
        return None


def reader(codec: TokenCodec, token: str | None) -> tuple[int | None, int | None] | None:
    """The reader parameters of the service's queries (reader_id, reader_version): ANONYMOUS
    without a token, None for a bad one (a 401). The queries themselves read a token whose
    version has moved on as anonymous."""
    if token is None:
        return ANONYMOUS
    found = claims(codec, token)
    return None if found is None else (found.user_id, found.version)


def bind(query: Query, reader: tuple[int | None, int | None], **values: Any) -> list[Any]:
    """The query's arguments in its own order, by name; `reader` is (reader_id, reader_version)."""
    return query.args({**values, "reader_id": reader[0], "reader_version": reader[1]})


async def keep_session(conn: asyncpg.Connection) -> None:
    """No reset query on release: nothing here leaves session state behind."""


async def create_pool() -> asyncpg.Pool:
    return await asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=2, max_size=POOL_SIZE, reset=keep_session
    )


def update_outcome(row: asyncpg.Record | None, user_id: int, checked: bool) -> tuple[int, str]:
    """The status and error of sql/queries/blog_update.sql's answer, as the service reads it."""
    if row is None:
        return 404, BLOG_NOT_FOUND
    if row["id"] is None:
        if row["owner_id"] != user_id:
            return 403, NOT_OWNER
        if checked:
            return 412, CHANGED
        return 404, BLOG_NOT_FOUND
    return 200, ""
