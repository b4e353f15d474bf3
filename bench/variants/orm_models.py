"""The classic FastAPI tutorial stack, shared by orm_sync and orm_async.

SQLAlchemy ORM classes with a `relationship`, pydantic schemas read `from_attributes`, and the
same keyset pages and cursors as the service, so every variant returns the same bytes.
"""

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, DateTime, ForeignKey, Select, func, select, text, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship

from bench.variants.keyset import from_micros, to_micros
from service.api.cursors import CursorCodec
from service.errors import AuthenticationFailed
from service.tokens import TokenClaims, TokenCodec

POOL_SIZE = 10
cursors = CursorCodec(os.environ["TOKEN_SECRET"])
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")
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
    email: Mapped[str]
    password_hash: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    token_version: Mapped[int] = mapped_column(BigInteger)
    blogs: Mapped[list["Blog"]] = relationship(back_populates="owner")


class Blog(Base):
    __tablename__ = "blogs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    owner: Mapped[User] = relationship(back_populates="blogs")


class OwnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class BlogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    owner: OwnerOut


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    created_at: datetime


class BlogPageOut(BaseModel):
    items: list[BlogOut]
    next_cursor: str | None


def blog_query(blog_id: int) -> Select[tuple[Blog]]:
    return select(Blog).options(joinedload(Blog.owner)).where(Blog.id == blog_id)


def page_query(limit: int, cursor: str | None, author_id: int | None = None) -> Select[tuple[Blog]]:
    query = (
        select(Blog)
        .options(joinedload(Blog.owner))
        .order_by(Blog.created_at.desc(), Blog.id.desc())
        .limit(limit + 1)
    )
    if author_id is not None:
        query = query.where(Blog.user_id == author_id)
    if cursor:
        created_at, blog_id = cursors.decode(cursor, 2)
        query = query.where(tuple_(Blog.created_at, Blog.id) < (from_micros(created_at), blog_id))
    return query


def user_query(user_id: int) -> Select[tuple[int]]:
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


def token_user_query(claims: TokenClaims) -> Select[tuple[User]]:
    return select(User).where(User.id == claims.user_id, User.token_version == claims.version)


def blog_for_update(blog_id: int) -> Select[tuple[Blog]]:
    """The blog and its owner, the blog's row locked until commit: the If-Match check and the
    write see the same version, as the service's single UPDATE does."""
    return blog_query(blog_id).with_for_update(of=Blog)


def check_edit(blog: Blog | None, user: User, accepted: list[datetime] | None) -> Blog:
    if blog is None:
        raise HTTPException(404, BLOG_NOT_FOUND)
    if blog.user_id != user.id:
        raise HTTPException(403, NOT_OWNER)
    if accepted is not None and blog.updated_at not in accepted:
        raise HTTPException(412, CHANGED)
    return blog


def etag(blog: Blog) -> str:
    """The service's blog ETag: its version and a hash of its owner's name."""
    owner = hashlib.sha256(blog.owner.name.encode()).hexdigest()[:8]
    return f'"{to_micros(blog.updated_at.astimezone(UTC)):x}.{owner}"'
