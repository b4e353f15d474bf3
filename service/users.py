"""Data functions for users.

Password work (hashing, verifying) never holds a database connection: each function reads what
it needs, releases the request's connection, hashes, and acquires one again to write.
"""

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from service.db import queries
from service.db.database import Connection, Row
from service.db.tables import users
from service.errors import AuthenticationFailed, Conflict, Forbidden, NotFound
from service.models import User, UserCreate, UserPublic, UserUpdate
from service.pages import split_page
from service.passwords import PasswordHasher
from service.tokens import TokenClaims

_USER_COLUMNS = (users.c.id, users.c.name, users.c.email, users.c.created_at)
_EMAIL_TAKEN = "a user with this email already exists"


def _user(row: Row) -> User:
    return User(id=row["id"], name=row["name"], email=row["email"], created_at=row["created_at"])


async def _email_taken(db: Connection, email: str, *, other_than: int = 0) -> bool:
    statement = sa.select(
        sa.exists()
        .where(sa.func.lower(users.c.email) == email, users.c.id != other_than)
        .label("taken")
    )
    row = await db.fetch_one(statement)
    return bool(row and row["taken"])


async def create_user(*, db: Connection, hasher: PasswordHasher, data: UserCreate) -> User:
    if await _email_taken(db, data.email):
        await db.release()
        # As long as a sign-up that hashes, so the answer's timing does not tell the difference.
        await hasher.pretend()
        raise Conflict(_EMAIL_TAKEN)
    await db.release()
    password_hash = await hasher.hash(data.password)
    statement = (
        postgresql.insert(users)
        .values(name=data.name, email=data.email, password_hash=password_hash)
        .on_conflict_do_nothing(index_elements=[sa.func.lower(users.c.email)])
        .returning(*_USER_COLUMNS)
    )
    row = await db.fetch_one(statement)
    if row is None:
        raise Conflict(_EMAIL_TAKEN)
    return _user(row)


async def get_token_user(*, db: Connection, claims: TokenClaims) -> User:
    """The user a token was made for, unless they are gone or their token version moved on."""
    row = await db.fetch_one(
        sa.select(*_USER_COLUMNS).where(
            users.c.id == claims.user_id, users.c.token_version == claims.version
        )
    )
    if row is None:
        raise AuthenticationFailed("the token is invalid or has expired")
    return _user(row)


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


async def _check_password(
    db: Connection, hasher: PasswordHasher, *, user_id: int, password: str
) -> str:
    """The user's stored hash once `password` proves to be theirs; the connection is released."""
    row = await db.fetch_one(sa.select(users.c.password_hash).where(users.c.id == user_id))
    await db.release()
    if row is None:
        raise AuthenticationFailed("the token is invalid or has expired")
    ok, _ = await hasher.verify(password, row["password_hash"])
    if not ok:
        raise Forbidden("the current password is not right")
    stored: str = row["password_hash"]
    return stored


async def update_user(
    *, db: Connection, hasher: PasswordHasher, user_id: int, data: UserUpdate
) -> User:
    """Change the name, email or password. Email and password changes need the current password;
    a password change ends every token made before it (token_version moves in the same UPDATE)."""
    fields = data.model_fields_set
    changes: dict[str, object] = {}
    condition = users.c.id == user_id
    if fields & {"email", "password"}:
        assert data.current_password is not None  # UserUpdate requires it for these
        stored = await _check_password(db, hasher, user_id=user_id, password=data.current_password)
        # Applies only if nobody changed the password since it was checked.
        condition = condition & (users.c.password_hash == stored)
    if "name" in fields:
        changes["name"] = data.name
    if "email" in fields:
        if await _email_taken(db, data.email, other_than=user_id):
            raise Conflict(_EMAIL_TAKEN)
        changes["email"] = data.email
    if "password" in fields:
        await db.release()
        changes["password_hash"] = await hasher.hash(data.password)
        changes["token_version"] = users.c.token_version + 1
    statement = sa.update(users).where(condition).values(**changes).returning(*_USER_COLUMNS)
    try:
        row = await db.fetch_one(statement)
    except asyncpg.UniqueViolationError:  # the email was taken between the check and now
        raise Conflict(_EMAIL_TAKEN) from None
    if row is None:
        raise Conflict("the account changed meanwhile; try again")
    return _user(row)


async def delete_user(
    *, db: Connection, hasher: PasswordHasher, user_id: int, current_password: str
) -> None:
    """Delete a user once their password is checked; their blogs go with them (ON DELETE
    CASCADE), and so does every token (no row to match)."""
    stored = await _check_password(db, hasher, user_id=user_id, password=current_password)
    deleted = await db.fetch_one(
        sa.delete(users)
        .where(users.c.id == user_id, users.c.password_hash == stored)
        .returning(users.c.id)
    )
    if deleted is None:
        raise Conflict("the account changed meanwhile; try again")


async def authenticate(
    *, db: Connection, hasher: PasswordHasher, email: str, password: str
) -> TokenClaims:
    """What a token for the user with this email (normalised) and password carries; the same
    error, in about the same time, whether the email or the password is wrong. A hash made with
    older parameters is replaced by one with the current ones."""
    statement = sa.select(users.c.id, users.c.password_hash, users.c.token_version).where(
        sa.func.lower(users.c.email) == email
    )
    # PostgreSQL text cannot hold NUL, and no email has one: no need to ask.
    row = None if "\x00" in email else await db.fetch_one(statement)
    await db.release()
    ok, upgraded = await hasher.verify(password, row["password_hash"] if row else None)
    if not ok or row is None:
        raise AuthenticationFailed("incorrect email or password")
    if upgraded is not None:
        await db.fetch_one(
            sa.update(users)
            .where(users.c.id == row["id"], users.c.password_hash == row["password_hash"])
            .values(password_hash=upgraded)
            .returning(users.c.id)
        )
    return TokenClaims(user_id=row["id"], version=row["token_version"])
