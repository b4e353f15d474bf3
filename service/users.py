"""Data functions for users."""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from service.db import queries
from service.db.database import Connection
from service.db.tables import users
from service.errors import AuthenticationFailed, Conflict, NotFound
from service.models import User, UserCreate, UserPublic, UserUpdate
from service.pages import split_page
from service.security import hash_password, verify_password

_USER_COLUMNS = (users.c.id, users.c.name, users.c.email, users.c.created_at)


async def create_user(*, db: Connection, data: UserCreate) -> User:
    password_hash = await hash_password(data.password)
    statement = (
        postgresql.insert(users)
        .values(name=data.name, email=data.email, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=[sa.func.lower(users.c.email)])
        .returning(*_USER_COLUMNS)
    )
    row = await db.fetch_one(statement)
    if row is None:
        raise Conflict("a user with this email already exists")
    return User(**row)


async def get_token_user(*, db: Connection, user_id: int, issued_at: datetime) -> User:
    """The user a token was issued to, unless they are gone or revoked it since."""
    row = await db.fetch_one(
        sa.select(*_USER_COLUMNS, users.c.tokens_valid_after).where(users.c.id == user_id)
    )
    if row is None or (row["tokens_valid_after"] or issued_at) > issued_at:
        raise AuthenticationFailed("the token is invalid or has expired")
    return User(id=row["id"], name=row["name"], email=row["email"], created_at=row["created_at"])


async def get_public_user(*, db: Connection, user_id: int) -> UserPublic:
    statement = sa.select(users.c.id, users.c.name, users.c.created_at).where(users.c.id == user_id)
    row = await db.fetch_one(statement)
    if row is None:
        raise NotFound("user not found")
    return UserPublic(**row)


async def user_exists(*, db: Connection, user_id: int) -> bool:
    statement = sa.select(sa.exists().where(users.c.id == user_id).label("found"))
    row = await db.fetch_one(statement)
    return bool(row and row["found"])


async def list_users(
    *, db: Connection, limit: int, after_id: int | None
) -> tuple[list[UserPublic], int | None]:
    """A page of users in id order and the id to continue after, or None on the last page."""
    rows = await db.fetch_rows(queries.USERS_PAGE, after_id=after_id or 0, limit=limit + 1)
    page, last = split_page(rows, limit)
    return [UserPublic(**row) for row in page], None if last is None else last["id"]


async def update_user(*, db: Connection, user_id: int, data: UserUpdate) -> User:
    changes: dict[str, object] = {}
    if "name" in data.model_fields_set:
        changes["name"] = data.name
    if "password" in data.model_fields_set:
        changes["password_hash"] = await hash_password(data.password)
        # Tokens issued until now die with the old password.
        changes["tokens_valid_after"] = datetime.now(UTC)
    statement = (
        sa.update(users).where(users.c.id == user_id).values(**changes).returning(*_USER_COLUMNS)
    )
    row = await db.fetch_one(statement)
    if row is None:
        raise NotFound("user not found")
    return User(**row)


async def delete_user(*, db: Connection, user_id: int) -> None:
    """Delete a user; their blogs go with them (ON DELETE CASCADE)."""
    deleted = await db.fetch_one(
        sa.delete(users).where(users.c.id == user_id).returning(users.c.id)
    )
    if deleted is None:
        raise NotFound("user not found")


async def authenticate(*, db: Connection, email: str, password: str) -> int:
    """The id of the user with this email (normalised) and password; the same error for either
    being wrong."""
    statement = sa.select(users.c.id, users.c.password_hash).where(
        sa.func.lower(users.c.email) == email
    )
    # PostgreSQL text cannot hold NUL, and no email has one: no need to ask.
    row = None if "\x00" in email else await db.fetch_one(statement)
    if not await verify_password(password, row["password_hash"] if row else None):
        raise AuthenticationFailed("incorrect email or password")
    assert row is not None
    user_id: int = row["id"]
    return user_id
