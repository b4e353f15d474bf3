"""orm-async: the FastAPI tutorial stack on `AsyncSession` and asyncpg."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from bench.variants.orm_models import (
    POOL_SIZE,
    Blog,
    BlogOut,
    BlogPageOut,
    blog_query,
    database_url,
    page,
    page_query,
    user_query,
)

engine = create_async_engine(database_url("asyncpg"), pool_size=POOL_SIZE, max_overflow=0)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as db:
        yield db


DbDep = Annotated[AsyncSession, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]

app = FastAPI()


@app.get("/blogs/{blog_id}", response_model=BlogOut)
async def read_blog(blog_id: int, db: DbDep) -> Blog:
    blog = (await db.scalars(blog_query(blog_id))).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
async def list_blogs(db: DbDep, limit: Limit = 20, cursor: str | None = None) -> dict[str, Any]:
    return page((await db.scalars(page_query(limit, cursor))).all(), limit)


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
async def list_user_blogs(
    user_id: int, db: DbDep, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    blogs = (await db.scalars(page_query(limit, cursor, author_id=user_id))).all()
    if not blogs and await db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)
