"""orm-async: the FastAPI tutorial stack on `AsyncSession` and asyncpg."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.variants.orm_models import (
    DEPLOYMENT,
    POOL_SIZE,
    Blog,
    BlogOut,
    BlogPageOut,
    User,
    UserOut,
    blog_for_update,
    blog_query,
    check_edit,
    database_url,
    etag,
    oauth2_scheme,
    page,
    page_query,
    token_claims,
    token_codec,
    token_user_query,
    unauthorized,
    user_query,
)
from service.api.etags import versions
from service.api.parameters import IfMatch
from service.models import BlogCreate, BlogUpdate
from service.tokens import TokenCodec

engine = create_async_engine(database_url("asyncpg"), pool_size=POOL_SIZE, max_overflow=0)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
tokens: TokenCodec


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global tokens
    async with engine.connect() as conn:
        tokens = token_codec(await conn.scalar(DEPLOYMENT))
    yield
    await engine.dispose()


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as db:
        yield db


DbDep = Annotated[AsyncSession, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], db: DbDep) -> User:
    user = await db.scalar(token_user_query(token_claims(tokens, token)))
    if user is None:
        raise unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

app = FastAPI(lifespan=lifespan)


@app.get("/blogs/{blog_id}", response_model=BlogOut)
async def read_blog(blog_id: int, db: DbDep) -> Blog:
    blog = (await db.scalars(blog_query(blog_id))).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
async def list_blogs(db: DbDep, limit: Limit = 20, cursor: str | None = None) -> dict[str, Any]:
    return page((await db.scalars(page_query(limit, cursor))).all(), limit)


@app.get("/users/me", response_model=UserOut)
async def read_me(user: CurrentUser) -> User:
    return user


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
async def list_user_blogs(
    user_id: int, db: DbDep, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    blogs = (await db.scalars(page_query(limit, cursor, author_id=user_id))).all()
    if not blogs and await db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)


@app.post("/blogs", status_code=201, response_model=BlogOut)
async def create_blog(data: BlogCreate, user: CurrentUser, db: DbDep, response: Response) -> Blog:
    blog = Blog(owner=user, title=data.title, body=data.body)
    db.add(blog)
    await db.commit()
    await db.refresh(blog)
    response.headers["ETag"] = etag(blog)
    return blog


@app.patch("/blogs/{blog_id}", response_model=BlogOut)
async def update_blog(
    blog_id: int,
    data: BlogUpdate,
    user: CurrentUser,
    db: DbDep,
    response: Response,
    if_match: IfMatch = None,
) -> Blog:
    found = (await db.scalars(blog_for_update(blog_id))).first()
    blog = check_edit(found, user, versions(if_match))
    for field in data.model_fields_set:
        setattr(blog, field, getattr(data, field))
    blog.updated_at = func.clock_timestamp()
    await db.commit()
    await db.refresh(blog)
    response.headers["ETag"] = etag(blog)
    return blog
