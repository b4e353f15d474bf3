"""orm-sync: the FastAPI tutorial stack, sync `Session` on psycopg 3 in the threadpool."""

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

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

engine = create_engine(
    database_url("psycopg"),
    pool_size=POOL_SIZE,
    max_overflow=0,
    # psycopg returns timestamptz in the session's time zone; the service's JSON is in UTC.
    connect_args={"options": "-c timezone=UTC"},
)
SessionLocal = sessionmaker(bind=engine, autoflush=False)


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


DbDep = Annotated[Session, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]

app = FastAPI()


@app.get("/blogs/{blog_id}", response_model=BlogOut)
def read_blog(blog_id: int, db: DbDep) -> Blog:
    blog = db.scalars(blog_query(blog_id)).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
def list_blogs(db: DbDep, limit: Limit = 20, cursor: str | None = None) -> dict[str, Any]:
    return page(db.scalars(page_query(limit, cursor)).all(), limit)


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
def list_user_blogs(
    user_id: int, db: DbDep, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    blogs = db.scalars(page_query(limit, cursor, author_id=user_id)).all()
    if not blogs and db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)
