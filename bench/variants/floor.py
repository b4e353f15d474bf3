"""floor: Starlette, a raw asyncpg pool, prepared statements, orjson bytes.

No validation and no models: the least work that still answers with the service's exact bytes.
asyncpg prepares each statement once per connection and keeps it in its statement cache
(a PreparedStatement object cannot outlive one pool checkout).
"""

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.variants.keyset import FIRST, from_micros, to_micros
from service.api.cursors import CursorCodec
from service.db.queries import BLOG_DETAIL, BLOGS_PAGE, BLOGS_PAGE_BY_AUTHOR

USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)"
OPTIONS = orjson.OPT_UTC_Z

cursors = CursorCodec(os.environ["TOKEN_SECRET"])


pool: asyncpg.Pool


def json(content: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(content, option=OPTIONS), status_code, media_type="application/json"
    )


def blog(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "body": row["body"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "owner": {"id": row["owner_id"], "name": row["owner_name"]},
    }


def page(rows: Sequence[asyncpg.Record], limit: int) -> Response:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = cursors.encode(to_micros(last["created_at"]), last["id"])
    return json({"items": [blog(row) for row in rows[:limit]], "next_cursor": next_cursor})


def keyset(request: Request) -> tuple[int, datetime, int]:
    limit = int(request.query_params.get("limit", 20))
    cursor = request.query_params.get("cursor")
    if not cursor:
        return limit, *FIRST
    created_at, blog_id = cursors.decode(cursor, 2)
    return limit, from_micros(created_at), blog_id


async def read_blog(request: Request) -> Response:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(BLOG_DETAIL.sql, request.path_params["blog_id"])
    if row is None:
        return json({"detail": "blog not found"}, 404)
    return json(blog(row))


async def list_blogs(request: Request) -> Response:
    limit, created_at, blog_id = keyset(request)
    async with pool.acquire() as conn:
        rows = await conn.fetch(BLOGS_PAGE.sql, created_at, blog_id, None, limit + 1)
    return page(rows, limit)


async def list_user_blogs(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    limit, created_at, blog_id = keyset(request)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            BLOGS_PAGE_BY_AUTHOR.sql, user_id, created_at, blog_id, None, limit + 1
        )
        if not rows and not await conn.fetchval(USER_EXISTS, user_id):
            return json({"detail": "user not found"}, 404)
    return page(rows, limit)


async def keep_session(conn: asyncpg.Connection) -> None:
    """No reset query on release: these reads leave no session state behind."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"],
        min_size=2,
        max_size=10,
        reset=keep_session,
    )
    try:
        yield
    finally:
        await pool.close()


app = Starlette(
    routes=[
        Route("/blogs/{blog_id:int}", read_blog),
        Route("/blogs", list_blogs),
        Route("/users/{user_id:int}/blogs", list_user_blogs),
    ],
    lifespan=lifespan,
)
