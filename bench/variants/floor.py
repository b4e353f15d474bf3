"""floor: Starlette, a raw asyncpg pool, prepared statements, orjson bytes.

No validation and no models: the least work that still answers with the service's exact bytes.
asyncpg prepares each statement once per connection and keeps it in its statement cache
(a PreparedStatement object cannot outlive one pool checkout). The writes check only what keeps
a bad body from reaching the database as a 500 (types, and the service's bounds).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.variants import rawsql
from bench.variants.rawsql import BEARER, CLAIMED_USER, USER_EXISTS
from service.api.etags import versions
from service.db.queries import (
    BLOG_CREATE,
    BLOG_DETAIL,
    BLOG_UPDATE,
    BLOGS_PAGE,
    BLOGS_PAGE_BY_AUTHOR,
)
from service.errors import InvalidCursor
from service.models import MAX_TAGS, WHITESPACE
from service.tokens import TokenCodec

pool: asyncpg.Pool
tokens: TokenCodec

# What a tag may not hold (service.models.Tag).
_NOT_IN_TAGS = frozenset(",\x7f" + "".join(map(chr, range(0x20))))


def json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(rawsql.dumps(content), status_code, headers, media_type="application/json")


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return json({"detail": detail}, status_code, headers)


def tagged(row: asyncpg.Record, status_code: int = 200) -> Response:
    body, etag = rawsql.tagged(row)
    return Response(body, status_code, {"ETag": etag}, media_type="application/json")


def keyset(request: Request) -> tuple[int, Any, int]:
    limit = int(request.query_params.get("limit", 20))
    return limit, *rawsql.before(request.query_params.get("cursor"))


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def read_blog(request: Request) -> Response:
    if (reader := rawsql.reader(tokens, bearer(request))) is None:
        return error(401, rawsql.BAD_TOKEN, BEARER)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            BLOG_DETAIL.sql,
            *rawsql.bind(BLOG_DETAIL, reader, id=request.path_params["blog_id"]),
        )
    if row is None:
        return error(404, rawsql.BLOG_NOT_FOUND)
    return json(rawsql.blog(row))


async def list_blogs(request: Request) -> Response:
    if (reader := rawsql.reader(tokens, bearer(request))) is None:
        return error(401, rawsql.BAD_TOKEN, BEARER)
    try:
        limit, created_at, blog_id = keyset(request)
    except InvalidCursor as exc:
        return json(rawsql.invalid_cursor(request.query_params.get("cursor"), exc.message), 422)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            BLOGS_PAGE.sql,
            *rawsql.bind(
                BLOGS_PAGE,
                reader,
                before_created_at=created_at,
                before_id=blog_id,
                limit=limit + 1,
            ),
        )
    return json(rawsql.page(rows, limit))


async def list_user_blogs(request: Request) -> Response:
    if (reader := rawsql.reader(tokens, bearer(request))) is None:
        return error(401, rawsql.BAD_TOKEN, BEARER)
    user_id = request.path_params["user_id"]
    try:
        limit, created_at, blog_id = keyset(request)
    except InvalidCursor as exc:
        return json(rawsql.invalid_cursor(request.query_params.get("cursor"), exc.message), 422)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            BLOGS_PAGE_BY_AUTHOR.sql,
            *rawsql.bind(
                BLOGS_PAGE_BY_AUTHOR,
                reader,
                author_id=user_id,
                before_created_at=created_at,
                before_id=blog_id,
                limit=limit + 1,
            ),
        )
        if not rows and not await conn.fetchval(USER_EXISTS, user_id):
            return error(404, rawsql.USER_NOT_FOUND)
    return json(rawsql.page(rows, limit))


async def current_user(conn: "PoolConnectionProxy[Any]", token: str) -> asyncpg.Record | None:
    claims = rawsql.claims(tokens, token)
    if claims is None:
        return None
    row: asyncpg.Record | None = await conn.fetchrow(CLAIMED_USER, claims.user_id, claims.version)
    return row


def text(value: Any, *, strip: bool, least: int, most: int) -> str | None:
    """A title, body, description or tag within the service's bounds, or None."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    value = value.strip(WHITESPACE) if strip else value
    return value if least <= len(value) <= most else None


def tags(value: Any) -> list[str] | None:
    """The tags, each once in the order first given, or None when any is not a tag."""
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        return None
    names = []
    for tag in value:
        name = text(tag, strip=True, least=1, most=40)
        if name is None or not _NOT_IN_TAGS.isdisjoint(name):
            return None
        names.append(name)
    return list(dict.fromkeys(names))


# The fields of a blog: whether trimmed, and their least and most lengths.
FIELDS = {"title": (True, 1, 200), "body": (False, 1, 100_000), "description": (True, 0, 1000)}


async def fields(request: Request, *, create: bool) -> dict[str, Any] | None:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data or set(data) - {*FIELDS, "tags"}:
        return None
    if create and not {"title", "body"} <= set(data):
        return None
    out: dict[str, Any] = {"description": "", "tags": []} if create else {}
    for name, (strip, least, most) in FIELDS.items():
        if name in data:
            out[name] = text(data[name], strip=strip, least=least, most=most)
            if out[name] is None:
                return None
    if "tags" in data:
        out["tags"] = tags(data["tags"])
        if out["tags"] is None:
            return None
    return out


INVALID = {"detail": "invalid body"}


async def read_me(request: Request) -> Response:
    if (token := bearer(request)) is None:
        return error(401, rawsql.NOT_AUTHENTICATED, BEARER)
    async with pool.acquire() as conn:
        user = await current_user(conn, token)
    if user is None:
        return error(401, rawsql.BAD_TOKEN, BEARER)
    return json(rawsql.user(user))


async def create_blog(request: Request) -> Response:
    if (token := bearer(request)) is None:
        return error(401, rawsql.NOT_AUTHENTICATED, BEARER)
    async with pool.acquire() as conn:
        user = await current_user(conn, token)
        if user is None:
            return error(401, rawsql.BAD_TOKEN, BEARER)
        data = await fields(request, create=True)
        if data is None:
            return json(INVALID, 422)
        row = await conn.fetchrow(
            BLOG_CREATE.sql,
            *BLOG_CREATE.args(
                {
                    "user_id": user["id"],
                    "title": data["title"],
                    "body": data["body"],
                    "description": data["description"],
                    "tags": data["tags"],
                }
            ),
        )
    if row is None:
        return error(401, rawsql.BAD_TOKEN, BEARER)
    return tagged(row, 201)


async def update_blog(request: Request) -> Response:
    if (token := bearer(request)) is None:
        return error(401, rawsql.NOT_AUTHENTICATED, BEARER)
    accepted = versions(request.headers.get("if-match"))
    async with pool.acquire() as conn:
        user = await current_user(conn, token)
        if user is None:
            return error(401, rawsql.BAD_TOKEN, BEARER)
        data = await fields(request, create=False)
        if data is None:
            return json(INVALID, 422)
        row = await conn.fetchrow(
            BLOG_UPDATE.sql,
            *BLOG_UPDATE.args(
                {
                    "id": request.path_params["blog_id"],
                    "user_id": user["id"],
                    "title": data.get("title"),
                    "body": data.get("body"),
                    "description": data.get("description"),
                    "tags": data.get("tags"),
                    "versions": accepted,
                }
            ),
        )
    status, detail = rawsql.update_outcome(row, user["id"], accepted is not None)
    if status != 200:
        return error(status, detail)
    assert row is not None
    return tagged(row)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool, tokens
    pool = await rawsql.create_pool()
    tokens = await rawsql.token_codec(pool)
    try:
        yield
    finally:
        await pool.close()


app = Starlette(
    routes=[
        Route("/blogs/{blog_id:int}", read_blog),
        Route("/blogs/{blog_id:int}", update_blog, methods=["PATCH"]),
        Route("/blogs", list_blogs),
        Route("/blogs", create_blog, methods=["POST"]),
        Route("/users/me", read_me),
        Route("/users/{user_id:int}/blogs", list_user_blogs),
    ],
    lifespan=lifespan,
)
