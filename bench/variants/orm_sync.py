"""orm-sync: the FastAPI tutorial stack, sync `Session` on psycopg 3 in the threadpool."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from sqlalchemy import create_engine, func
from sqlalchemy.orm import Session, sessionmaker

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

engine = create_engine(
    database_url("psycopg"),
    pool_size=POOL_SIZE,
    max_overflow=0,
    # psycopg returns timestamptz in the session's time zone; the service's JSON is in UTC.
    connect_args={"options": "-c timezone=UTC"},
)
SessionLocal = sessionmaker(bind=engine, autoflush=False)
tokens: TokenCodec


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global tokens
    with engine.connect() as conn:
        tokens = token_codec(conn.scalar(DEPLOYMENT))
    yield


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


DbDep = Annotated[Session, Depends(get_db)]
Limit = Annotated[int, Query(ge=1, le=100)]


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], db: DbDep) -> User:
    user = db.scalar(token_user_query(token_claims(tokens, token)))
    if user is None:
        raise unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

app = FastAPI(lifespan=lifespan)


@app.get("/blogs/{blog_id}", response_model=BlogOut)
def read_blog(blog_id: int, db: DbDep) -> Blog:
    blog = db.scalars(blog_query(blog_id)).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
def list_blogs(db: DbDep, limit: Limit = 20, cursor: str | None = None) -> dict[str, Any]:
    return page(db.scalars(page_query(limit, cursor)).all(), limit)


@app.get("/users/me", response_model=UserOut)
def read_me(user: CurrentUser) -> User:
    return user


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
def list_user_blogs(
    user_id: int, db: DbDep, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    blogs = db.scalars(page_query(limit, cursor, author_id=user_id)).all()
    if not blogs and db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)


@app.post("/blogs", status_code=201, response_model=BlogOut)
def create_blog(data: BlogCreate, user: CurrentUser, db: DbDep, response: Response) -> Blog:
    blog = Blog(owner=user, title=data.title, body=data.body)
    db.add(blog)
    db.commit()
    db.refresh(blog)
    response.headers["ETag"] = etag(blog)
    return blog


@app.patch("/blogs/{blog_id}", response_model=BlogOut)
def update_blog(
    blog_id: int,
    data: BlogUpdate,
    user: CurrentUser,
    db: DbDep,
    response: Response,
    if_match: IfMatch = None,
) -> Blog:
    blog = check_edit(db.scalars(blog_for_update(blog_id)).first(), user, versions(if_match))
    for field in data.model_fields_set:
        setattr(blog, field, getattr(data, field))
    blog.updated_at = func.clock_timestamp()
    db.commit()
    db.refresh(blog)
    response.headers["ETag"] = etag(blog)
    return blog
