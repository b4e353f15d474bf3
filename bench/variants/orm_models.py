"""The classic FastAPI tutorial stack, shared by orm_sync and orm_async.

SQLAlchemy ORM classes with relationships, pydantic schemas read `from_attributes`, and the same
keyset pages and cursors as the service, so every variant returns the same bytes. A blog's owner
comes in by a join (`joinedload`), its tags by a second query (`selectinload`, the loader the
ORM's documentation recommends for collections), its favorites count from its column. The
reader's flags are query expressions, false unless a signed-in reader asks (`with_expression`).
The tags are written through an association object (blog_tags holds the blog's created_at too).
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Response
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import (
    BigInteger,
    DateTime,
    FetchedValue,
    ForeignKey,
    Select,
    exists,
    false,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    query_expression,
    relationship,
    selectinload,
    with_expression,
)
from sqlalchemy.orm.strategy_options import _AbstractLoad
from sqlalchemy.sql.dml import ReturningInsert

from bench.variants.keyset import from_micros, to_micros
from service.api.cursors import CursorCodec
from service.api.etags import blog_etag
from service.errors import AuthenticationFailed
from service.tokens import TokenClaims, TokenCodec

POOL_SIZE = 10
cursors = CursorCodec(os.environ["TOKEN_SECRET"])
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
DEPLOYMENT = text("SELECT id::text FROM deployment")
# The service's answers, word for word.
BLOG_NOT_FOUND = "blog not found"
NOT_OWNER = "only the owner may change this blog"
CHANGED = "the blog has changed since; fetch it again and retry"


def database_url(driver: str) -> str:
    """DATABASE_URL with SQLAlchemy's scheme for `driver`."""
    rest = os.environ["DATABASE_URL"].partition("://")[2]
    return f"postgresql+{driver}://{rest}"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str]
    username: Mapped[str]
    bio: Mapped[str | None]
    image: Mapped[str | None]
    email: Mapped[str]
    password_hash: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    token_version: Mapped[int] = mapped_column(BigInteger)
    blogs: Mapped[list["Blog"]] = relationship(back_populates="owner")
    # Whether the reader follows them: see reader_options().
    following: Mapped[bool] = query_expression(false())


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)


class BlogTag(Base):
    __tablename__ = "blog_tags"

    blog_id: Mapped[int] = mapped_column(ForeignKey("blogs.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), primary_key=True)
    blog_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tag: Mapped[Tag] = relationship()


class Favorite(Base):
    __tablename__ = "favorites"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    blog_id: Mapped[int] = mapped_column(ForeignKey("blogs.id"), primary_key=True)


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    followed_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class Blog(Base):
    __tablename__ = "blogs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Made by the table's trigger on insert.
    slug: Mapped[str] = mapped_column(server_default=FetchedValue())
    title: Mapped[str]
    description: Mapped[str] = mapped_column(server_default="")
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Kept by the favorites table's trigger.
    favorites_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    owner: Mapped[User] = relationship(back_populates="blogs")
    tags: Mapped[list[Tag]] = relationship(secondary="blog_tags", order_by=Tag.name, viewonly=True)
    tag_links: Mapped[list[BlogTag]] = relationship(cascade="all, delete-orphan")
    # Whether the reader has made it a favorite: see reader_options().
    favorited: Mapped[bool] = query_expression(false())


class OwnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    username: str
    bio: str | None
    image: str | None
    following: bool


class BlogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    description: str
    body: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    favorites_count: int
    favorited: bool
    owner: OwnerOut

    @field_validator("tags", mode="before")
    @classmethod
    def _names(cls, tags: Sequence[Tag]) -> list[str]:
        return [tag.name for tag in tags]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    username: str
    bio: str | None
    image: str | None
    email: str
    created_at: datetime


class BlogPageOut(BaseModel):
    items: list[BlogOut]
    next_cursor: str | None


def reader_options(reader_id: int | None) -> list[_AbstractLoad]:
    """How a blog is loaded: its owner joined, its tags by a second query, and for a signed-in
    reader whether they favorited it and follow its owner."""
    if reader_id is None:
        return [joinedload(Blog.owner), selectinload(Blog.tags)]
    favorited = exists().where(Favorite.user_id == reader_id, Favorite.blog_id == Blog.id)
    following = exists().where(Follow.follower_id == reader_id, Follow.followed_id == User.id)
    return [
        joinedload(Blog.owner).with_expression(User.following, following),
        selectinload(Blog.tags),
        with_expression(Blog.favorited, favorited),
    ]


def blog_query(blog_id: int, reader_id: int | None = None) -> Select[Blog]:
    return select(Blog).options(*reader_options(reader_id)).where(Blog.id == blog_id)


def page_query(
    limit: int, cursor: str | None, author_id: int | None = None, reader_id: int | None = None
) -> Select[Blog]:
    query = (
        select(Blog)
        .options(*reader_options(reader_id))
        .order_by(Blog.created_at.desc(), Blog.id.desc())
        .limit(limit + 1)
    )
    if author_id is not None:
        query = query.where(Blog.user_id == author_id)
    if cursor:
        created_at, blog_id = cursors.decode(cursor, 2)
        query = query.where(tuple_(Blog.created_at, Blog.id) < (from_micros(created_at), blog_id))
    return query


def reloaded(blog_id: int, reader_id: int) -> Select[Blog]:
    """The blog as its writer reads it after a commit, every attribute loaded again."""
    return blog_query(blog_id, reader_id).execution_options(populate_existing=True)


def user_query(user_id: int) -> Select[int]:
    return select(User.id).where(User.id == user_id)


def page(blogs: Sequence[Blog], limit: int) -> dict[str, Any]:
    items = blogs[:limit]
    next_cursor = None
    if len(blogs) > limit:
        last = items[-1]
        next_cursor = cursors.encode(to_micros(last.created_at.astimezone(UTC)), last.id)
    return {"items": items, "next_cursor": next_cursor}


def token_codec(audience: str) -> TokenCodec:
    """The service's token rules: its key, issuer and this database's deployment id."""
    return TokenCodec(
        secret=os.environ["TOKEN_SECRET"],
        issuer=os.environ.get("TOKEN_ISSUER", "blog-api"),
        audience=audience,
        expires_in=timedelta(minutes=60),
    )


def unauthorized() -> HTTPException:
    return HTTPException(401, "the token is invalid or has expired", {"WWW-Authenticate": "Bearer"})


def token_claims(tokens: TokenCodec, token: str) -> TokenClaims:
    try:
        return tokens.decode(token)
    except AuthenticationFailed:
        raise unauthorized() from None


def token_user_query(claims: TokenClaims) -> Select[User]:
    return select(User).where(User.id == claims.user_id, User.token_version == claims.version)


def tags_upsert(names: list[str]) -> ReturningInsert[Tag]:
    """The tags with these names, created if new; `ON CONFLICT DO UPDATE` returns the ones that
    exist too (DO NOTHING would not)."""
    upsert = insert(Tag).values([{"name": name} for name in names])
    return upsert.on_conflict_do_update(
        index_elements=[Tag.name], set_={"name": upsert.excluded.name}
    ).returning(Tag)


def blog_for_update(blog_id: int, *, tags: bool) -> Select[Blog]:
    """The blog (with its tag links when the edit replaces its tags), its row locked until
    commit: the If-Match check and the write see the same version, as the service's single
    UPDATE does."""
    query = select(Blog).where(Blog.id == blog_id).with_for_update(of=Blog)
    return query.options(selectinload(Blog.tag_links)) if tags else query


def check_edit(blog: Blog | None, user: User, accepted: list[datetime] | None) -> Blog:
    if blog is None:
        raise HTTPException(404, BLOG_NOT_FOUND)
    if blog.user_id != user.id:
        raise HTTPException(403, NOT_OWNER)
    if accepted is not None and blog.updated_at not in accepted:
        raise HTTPException(412, CHANGED)
    return blog


def edit(blog: Blog, fields: dict[str, Any]) -> None:
    """Set the edited columns (not the tags) and move the version."""
    for name, value in fields.items():
        setattr(blog, name, value)
    blog.updated_at = func.clock_timestamp()


def link(blog: Blog, tags: Sequence[Tag]) -> None:
    """Make `tags` the blog's, keeping the links it has to any of them."""
    kept = {tag_link.tag_id: tag_link for tag_link in blog.tag_links}
    blog.tag_links = [
        kept.get(tag.id) or BlogTag(tag=tag, blog_created_at=blog.created_at) for tag in tags
    ]


def tagged(blog: Blog, status_code: int = 200) -> Response:
    """The blog's JSON and the service's ETag for those bytes."""
    out = BlogOut.model_validate(blog)
    body = out.model_dump_json().encode()
    headers = {"ETag": blog_etag(out.updated_at, body)}
    return Response(body, status_code, headers, media_type="application/json")
