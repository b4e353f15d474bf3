"""floor: Starlette, a raw asyncpg pool, prepared statements, orjson bytes.

No validation and no models: the least work that still answers with the service's exact bytes.
asyncpg prepares each statement once per connection and keeps it in its statement cache
(a PreparedStatement object cannot outlive one pool checkout). The writes check only what keeps
a bad body from reaching the database as a 500 (types, and the service's length bounds).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.variants import rawsql
from bench.variants.rawsql import BEARER, BLOG_INSERT, CLAIMED_USER, USER_EXISTS
from service.api.etags import versions
from service.db.queries import BLOG_DETAIL, BLOG_UPDATE, BLOGS_PAGE, BLOGS_PAGE_BY_AUTHOR
from service.errors import InvalidCursor
from service.models import WHITESPACE
from service.tokens import TokenCodec

pool: asyncpg.Pool
tokens: TokenCodec


def json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(rawsql.dumps(content), status_code, headers, media_type="application/json")


def error(status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return json({"detail": detail}, status_code, headers)


def keyset(request: Request) -> tuple[int, Any, int]:
    limit = int(request.query_params.get("limit", 20))
    return limit, *rawsql.before(request.query_params.get("cursor"))


async def read_blog(request: Request) -> Response:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(BLOG_DETAIL.sql, request.path_params["blog_id"])
    if row is None:
        return error(404, rawsql.BLOG_NOT_FOUND)
    return json(rawsql.blog(row))


async def list_blogs(request: Request) -> Response:
    try:
        limit, created_at, blog_id = keyset(request)
    except InvalidCursor as exc:
        return json(rawsql.invalid_cursor(request.query_params.get("cursor"), exc.message), 422)
    async with pool.acquire() as conn:
        rows = await conn.fetch(BLOGS_PAGE.sql, created_at, blog_id, limit + 1)
    return json(rawsql.page(rows, limit))


async def list_user_blogs(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    try:
        limit, created_at, blog_id = keyset(request)
    except InvalidCursor as exc:
        return json(rawsql.invalid_cursor(request.query_params.get("cursor"), exc.message), 422)
    async with pool.acquire() as conn:
        rows = await conn.fetch(BLOGS_PAGE_BY_AUTHOR.sql, user_id, created_at, blog_id, limit + 1)
        if not rows and not await conn.fetchval(USER_EXISTS, user_id):
            return error(404, rawsql.USER_NOT_FOUND)
    return json(rawsql.page(rows, limit))


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


async def current_user(conn: asyncpg.Connection, token: str) -> asyncpg.Record | None:
    claims = rawsql.claims(tokens, token)
    if claims is None:
        return None
    row: asyncpg.Record | None = await conn.fetchrow(CLAIMED_USER, claims.user_id, claims.version)
    return row


def text(value: Any, *, strip: bool, most: int) -> str | None:
    """A title or body within the service's bounds, or None."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    value = value.strip(WHITESPACE) if strip else value
    return value if 1 <= len(value) <= most else None


async def fields(request: Request, *, required: bool) -> dict[str, str] | None:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data or set(data) - {"title", "body"}:
        return None
    if required and len(data) != 2:
        return None
    out = {}
    for name, strip, most in (("title", True, 200), ("body", False, 100_000)):
        if name in data:
            value = text(data[name], strip=strip, most=most)
            if value is None:
                return None
            out[name] = value
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
        data = await fields(request, required=True)
        if data is None:
            return json(INVALID, 422)
        row = await conn.fetchrow(BLOG_INSERT, user["id"], data["title"], data["body"])
    etag = rawsql.blog_etag(row["updated_at"], user["name"])
    return json(rawsql.new_blog(row, user), 201, {"ETag": etag})


async def update_blog(request: Request) -> Response:
    if (token := bearer(request)) is None:
        return error(401, rawsql.NOT_AUTHENTICATED, BEARER)
    accepted = versions(request.headers.get("if-match"))
    async with pool.acquire() as conn:
        user = await current_user(conn, token)
        if user is None:
            return error(401, rawsql.BAD_TOKEN, BEARER)
        data = await fields(request, required=False)
        if data is None:
            return json(INVALID, 422)
        row = await conn.fetchrow(
            BLOG_UPDATE.sql,
            request.path_params["blog_id"],
            user["id"],
            data.get("title"),
            data.get("body"),
            accepted,
        )
    status, detail = rawsql.update_outcome(row, user["id"], accepted is not None)
    if status != 200:
        return error(status, detail)
    assert row is not None
    etag = rawsql.blog_etag(row["updated_at"], row["owner_name"])
    return json(rawsql.blog(row), headers={"ETag": etag})


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
