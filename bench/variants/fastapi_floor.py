"""fastapi-floor: FastAPI with the service's parameter validation, a raw asyncpg pool, orjson.

What FastAPI itself costs: the same path, query and body validation as the service (its own
`Annotated` parameters and body models, imported), its SQL, cursors and token rules, but no
databases wrapper, no response models, no middleware and no ETags on reads; bodies are orjson
bytes of plain dicts. Reads take an optional bearer token, as the service's do. Two flavours,
one module:

- `app_yield`: the connection comes from a `yield` dependency, the common `get_db` pattern
  (scope "function", as the service's: released when the endpoint returns, before the answer is
  sent);
- `app_handler`: each endpoint acquires its connection itself; the only dependency left is the
  bearer token (optional on reads).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import OAuth2PasswordBearer

from bench.variants import rawsql
from bench.variants.rawsql import BEARER, CLAIMED_USER, USER_EXISTS
from service.api.etags import versions
from service.api.parameters import BlogId, Cursor, IfMatch, Limit, UserId
from service.db.queries import (
    BLOG_CREATE,
    BLOG_DETAIL,
    BLOG_UPDATE,
    BLOGS_PAGE,
    BLOGS_PAGE_BY_AUTHOR,
)
from service.errors import InvalidCursor
from service.models import DEFAULT_PAGE_SIZE, BlogCreate, BlogUpdate
from service.tokens import TokenCodec

_JSON = "application/json"
# BLOG_UPDATE's fields, in its parameters' order.
UPDATABLE = ("title", "body", "description", "tags")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
Token = Annotated[str, Depends(oauth2_scheme)]
optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
OptionalToken = Annotated[str | None, Depends(optional_oauth2_scheme)]


def json(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(rawsql.dumps(content), status_code, headers, media_type=_JSON)


def keyset(cursor: str | None) -> tuple[Any, int]:
    try:
        return rawsql.before(cursor)
    except InvalidCursor as exc:
        raise HTTPException(422, rawsql.invalid_cursor(cursor, exc.message)["detail"]) from None


async def token_user(conn: asyncpg.Connection, tokens: TokenCodec, token: str) -> asyncpg.Record:
    claims = rawsql.claims(tokens, token)
    row = None
    if claims is not None:
        row = await conn.fetchrow(CLAIMED_USER, claims.user_id, claims.version)
    if row is None:
        raise HTTPException(401, rawsql.BAD_TOKEN, BEARER)
    return row


def reader(request: Request, token: str | None) -> tuple[int | None, int | None]:
    """The reader parameters of the service's queries; a 401 for a bad token."""
    found = rawsql.reader(request.app.state.tokens, token)
    if found is None:
        raise HTTPException(401, rawsql.BAD_TOKEN, BEARER)
    return found


def tagged(row: asyncpg.Record, status_code: int = 200) -> Response:
    body, etag = rawsql.tagged(row)
    return Response(body, status_code, {"ETag": etag}, media_type=_JSON)


def updated(row: asyncpg.Record | None, user_id: int, checked: bool) -> Response:
    status, detail = rawsql.update_outcome(row, user_id, checked)
    if status != 200:
        raise HTTPException(status, detail)
    assert row is not None
    return tagged(row)


def created(row: asyncpg.Record | None) -> Response:
    if row is None:
        # The owner deleted their account while this request was on its way: so is the token.
        raise HTTPException(401, rawsql.BAD_TOKEN, BEARER)
    return tagged(row, 201)


def create_args(user: asyncpg.Record, data: BlogCreate) -> list[Any]:
    return BLOG_CREATE.args(
        {
            "user_id": user["id"],
            "title": data.title,
            "body": data.body,
            "description": data.description,
            "tags": data.tags,
        }
    )


def page_args(
    who: tuple[int | None, int | None],
    created_at: datetime,
    blog_id: int,
    limit: int,
    author_id: int | None = None,
) -> list[Any]:
    """BLOGS_PAGE's parameters, or BLOGS_PAGE_BY_AUTHOR's with an author."""
    keyset = {"before_created_at": created_at, "before_id": blog_id, "limit": limit + 1}
    if author_id is None:
        return rawsql.bind(BLOGS_PAGE, who, **keyset)
    return rawsql.bind(BLOGS_PAGE_BY_AUTHOR, who, author_id=author_id, **keyset)


def update_args(
    blog_id: int, user: asyncpg.Record, data: BlogUpdate, accepted: list[datetime] | None
) -> list[Any]:
    """BLOG_UPDATE's parameters: NULL for each field the edit leaves as it is."""
    sent = data.model_fields_set
    changes = {name: getattr(data, name) if name in sent else None for name in UPDATABLE}
    return BLOG_UPDATE.args({"id": blog_id, "user_id": user["id"], **changes, "versions": accepted})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await rawsql.create_pool()
    app.state.tokens = await rawsql.token_codec(app.state.pool)
    try:
        yield
    finally:
        await app.state.pool.close()


# The yield dependency flavour.

app_yield = FastAPI(lifespan=lifespan)


async def get_db(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Db = Annotated[asyncpg.Connection, Depends(get_db, scope="function")]


async def get_current_user(request: Request, db: Db, token: Token) -> asyncpg.Record:
    return await token_user(db, request.app.state.tokens, token)


CurrentUser = Annotated[asyncpg.Record, Depends(get_current_user)]


async def get_reader(request: Request, token: OptionalToken) -> tuple[int | None, int | None]:
    return reader(request, token)


Reader = Annotated[tuple[int | None, int | None], Depends(get_reader)]


@app_yield.get("/blogs/{blog_id}")
async def y_read_blog(db: Db, who: Reader, blog_id: BlogId) -> Response:
    row = await db.fetchrow(BLOG_DETAIL.sql, *rawsql.bind(BLOG_DETAIL, who, id=blog_id))
    if row is None:
        raise HTTPException(404, rawsql.BLOG_NOT_FOUND)
    return json(rawsql.blog(row))


@app_yield.get("/blogs")
async def y_list_blogs(
    db: Db, who: Reader, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response:
    created_at, blog_id = keyset(cursor)
    rows = await db.fetch(BLOGS_PAGE.sql, *page_args(who, created_at, blog_id, limit))
    return json(rawsql.page(rows, limit))


@app_yield.get("/users/{user_id}/blogs")
async def y_list_user_blogs(
    db: Db, who: Reader, user_id: UserId, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response:
    created_at, blog_id = keyset(cursor)
    rows = await db.fetch(
        BLOGS_PAGE_BY_AUTHOR.sql, *page_args(who, created_at, blog_id, limit, user_id)
    )
    if not rows and not await db.fetchval(USER_EXISTS, user_id):
        raise HTTPException(404, rawsql.USER_NOT_FOUND)
    return json(rawsql.page(rows, limit))


@app_yield.get("/users/me")
async def y_read_me(user: CurrentUser) -> Response:
    return json(rawsql.user(user))


@app_yield.post("/blogs", status_code=201)
async def y_create_blog(db: Db, user: CurrentUser, data: BlogCreate) -> Response:
    return created(await db.fetchrow(BLOG_CREATE.sql, *create_args(user, data)))


@app_yield.patch("/blogs/{blog_id}")
async def y_update_blog(
    db: Db, user: CurrentUser, blog_id: BlogId, data: BlogUpdate, if_match: IfMatch = None
) -> Response:
    accepted = versions(if_match)
    row = await db.fetchrow(BLOG_UPDATE.sql, *update_args(blog_id, user, data, accepted))
    return updated(row, user["id"], accepted is not None)


# The acquire-in-the-handler flavour.

app_handler = FastAPI(lifespan=lifespan)


@app_handler.get("/blogs/{blog_id}")
async def h_read_blog(request: Request, token: OptionalToken, blog_id: BlogId) -> Response:
    who = reader(request, token)
    async with request.app.state.pool.acquire() as db:
        row = await db.fetchrow(BLOG_DETAIL.sql, *rawsql.bind(BLOG_DETAIL, who, id=blog_id))
    if row is None:
        raise HTTPException(404, rawsql.BLOG_NOT_FOUND)
    return json(rawsql.blog(row))


@app_handler.get("/blogs")
async def h_list_blogs(
    request: Request, token: OptionalToken, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> Response:
    who = reader(request, token)
    created_at, blog_id = keyset(cursor)
    async with request.app.state.pool.acquire() as db:
        rows = await db.fetch(BLOGS_PAGE.sql, *page_args(who, created_at, blog_id, limit))
    return json(rawsql.page(rows, limit))


@app_handler.get("/users/{user_id}/blogs")
async def h_list_user_blogs(
    request: Request,
    token: OptionalToken,
    user_id: UserId,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    who = reader(request, token)
    created_at, blog_id = keyset(cursor)
    async with request.app.state.pool.acquire() as db:
        rows = await db.fetch(
            BLOGS_PAGE_BY_AUTHOR.sql, *page_args(who, created_at, blog_id, limit, user_id)
        )
        if not rows and not await db.fetchval(USER_EXISTS, user_id):
            raise HTTPException(404, rawsql.USER_NOT_FOUND)
    return json(rawsql.page(rows, limit))


@app_handler.get("/users/me")
async def h_read_me(request: Request, token: Token) -> Response:
    async with request.app.state.pool.acquire() as db:
        user = await token_user(db, request.app.state.tokens, token)
    return json(rawsql.user(user))


@app_handler.post("/blogs", status_code=201)
async def h_create_blog(request: Request, token: Token, data: BlogCreate) -> Response:
    async with request.app.state.pool.acquire() as db:
        user = await token_user(db, request.app.state.tokens, token)
        row = await db.fetchrow(BLOG_CREATE.sql, *create_args(user, data))
    return created(row)


@app_handler.patch("/blogs/{blog_id}")
async def h_update_blog(
    request: Request, token: Token, blog_id: BlogId, data: BlogUpdate, if_match: IfMatch = None
) -> Response:
    accepted = versions(if_match)
    async with request.app.state.pool.acquire() as db:
        user = await token_user(db, request.app.state.tokens, token)
        row = await db.fetchrow(BLOG_UPDATE.sql, *update_args(blog_id, user, data, accepted))
    return updated(row, user["id"], accepted is not None)
