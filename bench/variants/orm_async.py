"""orm-async: the FastAPI tutorial stack on `AsyncSession` and asyncpg."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.variants.orm_models import (
    DEPLOYMENT,
    POOL_SIZE,
    Blog,
    BlogOut,
    BlogPageOut,
    Tag,
    User,
    UserOut,
    blog_for_update,
    blog_query,
    check_edit,
    database_url,
    edit,
    link,
    oauth2_scheme,
    optional_oauth2_scheme,
    page,
    page_query,
    reloaded,
    tagged,
    tags_upsert,
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


async def get_reader_id(
    token: Annotated[str | None, Depends(optional_oauth2_scheme)], db: DbDep
) -> int | None:
    """The signed-in reader's id; None when anonymous, or when the token is from before a
    password change (as the service reads it)."""
    if token is None:
        return None
    user = await db.scalar(token_user_query(token_claims(tokens, token)))
    return None if user is None else user.id


ReaderId = Annotated[int | None, Depends(get_reader_id)]

app = FastAPI(lifespan=lifespan)


async def tags_named(db: AsyncSession, names: list[str]) -> list[Tag]:
    if not names:
        return []
    options = {"populate_existing": True}
    return list(await db.scalars(tags_upsert(names), execution_options=options))


@app.get("/blogs/{blog_id}", response_model=BlogOut)
async def read_blog(blog_id: int, db: DbDep, reader_id: ReaderId) -> Blog:
    blog = (await db.scalars(blog_query(blog_id, reader_id))).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
async def list_blogs(
    db: DbDep, reader_id: ReaderId, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    query = page_query(limit, cursor, reader_id=reader_id)
    return page((await db.scalars(query)).all(), limit)


@app.get("/users/me", response_model=UserOut)
async def read_me(user: CurrentUser) -> User:
    return user


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
async def list_user_blogs(
    user_id: int, db: DbDep, reader_id: ReaderId, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    query = page_query(limit, cursor, author_id=user_id, reader_id=reader_id)
    blogs = (await db.scalars(query)).all()
    if not blogs and await db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)


@app.post("/blogs", status_code=201, response_model=BlogOut)
async def create_blog(data: BlogCreate, user: CurrentUser, db: DbDep) -> Response:
    blog = Blog(
        owner=user, title=data.title, body=data.body, description=data.description, tag_links=[]
    )
    db.add(blog)
    # The id, and the created_at the tag links copy.
    await db.flush()
    if data.tags:
        link(blog, await tags_named(db, data.tags))
    blog_id, user_id = blog.id, user.id
    await db.commit()
    return tagged((await db.scalars(reloaded(blog_id, user_id))).one(), 201)


@app.patch("/blogs/{blog_id}", response_model=BlogOut)
async def update_blog(
    blog_id: int, data: BlogUpdate, user: CurrentUser, db: DbDep, if_match: IfMatch = None
) -> Response:
    fields = data.model_dump(include=data.model_fields_set)
    found = (await db.scalars(blog_for_update(blog_id, tags="tags" in fields))).first()
    blog = check_edit(found, user, versions(if_match))
    if "tags" in fields:
        link(blog, await tags_named(db, fields.pop("tags")))
    edit(blog, fields)
    user_id = user.id
    await db.commit()
    return tagged((await db.scalars(reloaded(blog_id, user_id))).one())
