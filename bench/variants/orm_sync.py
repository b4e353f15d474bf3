"""orm-sync: the FastAPI tutorial stack, sync `Session` on psycopg 3 in the threadpool."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

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


def get_reader_id(
    token: Annotated[str | None, Depends(optional_oauth2_scheme)], db: DbDep
) -> int | None:
    """The signed-in reader's id; None when anonymous, or when the token is from before a
    password change (as the service reads it)."""
    if token is None:
        return None
    user = db.scalar(token_user_query(token_claims(tokens, token)))
    return None if user is None else user.id


ReaderId = Annotated[int | None, Depends(get_reader_id)]

app = FastAPI(lifespan=lifespan)


def tags_named(db: Session, names: list[str]) -> list[Tag]:
    if not names:
        return []
    options = {"populate_existing": True}
    return list(db.scalars(tags_upsert(names), execution_options=options))


@app.get("/blogs/{blog_id}", response_model=BlogOut)
def read_blog(blog_id: int, db: DbDep, reader_id: ReaderId) -> Blog:
    blog = db.scalars(blog_query(blog_id, reader_id)).first()
    if blog is None:
        raise HTTPException(status_code=404, detail="blog not found")
    return blog


@app.get("/blogs", response_model=BlogPageOut)
def list_blogs(
    db: DbDep, reader_id: ReaderId, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    return page(db.scalars(page_query(limit, cursor, reader_id=reader_id)).all(), limit)


@app.get("/users/me", response_model=UserOut)
def read_me(user: CurrentUser) -> User:
    return user


@app.get("/users/{user_id}/blogs", response_model=BlogPageOut)
def list_user_blogs(
    user_id: int, db: DbDep, reader_id: ReaderId, limit: Limit = 20, cursor: str | None = None
) -> dict[str, Any]:
    blogs = db.scalars(page_query(limit, cursor, author_id=user_id, reader_id=reader_id)).all()
    if not blogs and db.scalar(user_query(user_id)) is None:
        raise HTTPException(status_code=404, detail="user not found")
    return page(blogs, limit)


@app.post("/blogs", status_code=201, response_model=BlogOut)
def create_blog(data: BlogCreate, user: CurrentUser, db: DbDep) -> Response:
    blog = Blog(
        owner=user, title=data.title, body=data.body, description=data.description, tag_links=[]
    )
    db.add(blog)
    # The id, and the created_at the tag links copy.
    db.flush()
    if data.tags:
        link(blog, tags_named(db, data.tags))
    blog_id, user_id = blog.id, user.id
    db.commit()
    return tagged(db.scalars(reloaded(blog_id, user_id)).one(), 201)


@app.patch("/blogs/{blog_id}", response_model=BlogOut)
def update_blog(
    blog_id: int, data: BlogUpdate, user: CurrentUser, db: DbDep, if_match: IfMatch = None
) -> Response:
    fields = data.model_dump(include=data.model_fields_set)
    found = db.scalars(blog_for_update(blog_id, tags="tags" in fields)).first()
    blog = check_edit(found, user, versions(if_match))
    if "tags" in fields:
        link(blog, tags_named(db, fields.pop("tags")))
    edit(blog, fields)
    user_id = user.id
    db.commit()
    return tagged(db.scalars(reloaded(blog_id, user_id)).one())
