"""The classic FastAPI tutorial stack, shared by orm_sync and orm_async.

SQLAlchemy ORM classes with a `relationship`, pydantic schemas read `from_attributes`, and the
same keyset pages and cursors as the service, so every variant returns the same bytes.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, DateTime, ForeignKey, Select, select, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship

from bench.variants.keyset import from_micros, to_micros
from service.api.cursors import CursorCodec

POOL_SIZE = 10
cursors = CursorCodec(os.environ["TOKEN_SECRET"])


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
    blogs: Mapped[list["Blog"]] = relationship(back_populates="owner")


class Blog(Base):
    __tablename__ = "blogs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
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
