"""Data functions for users.

Password work (hashing, verifying) never holds a database connection: each function reads what
it needs, releases the request's connection, hashes, and acquires one again to write.
"""

from dataclasses import dataclass

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from service.db import queries
from service.db.built import built
from service.db.database import Connection, Row
from service.db.tables import users
from service.errors import AuthenticationFailed, Conflict, Forbidden, NotFound
from service.limits import LoginLimits, SignupLimits
from service.models import Profile, User, UserCreate, UserPublic, UserUpdate, normalize_email
from service.pages import split_page
from service.passwords import PasswordHasher
from service.profiles import TOKEN_CURRENT, USER, profile, reader_params
from service.tokens import TokenClaims

_USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.username,
    users.c.bio,
    users.c.image,
    users.c.email,
    users.c.created_at,
)
# On every signed-in write: built once (service.db.built), not per call.
_TOKEN_USER = built("token_user", sa.select(*_USER_COLUMNS).where(TOKEN_CURRENT), read_only=True)
_EMAIL_TAKEN = "a user with this email already exists"
_USERNAME_TAKEN = "a user with this username already exists"
# The unique index that keeps usernames unique in any letter case.
_USERNAME_INDEX = "uq_users_username_lower"


@dataclass(frozen=True)
class PasswordGuard:
    """Where a password attempt comes from and the login limits it counts against: every check
    of a password (a login, or `current_password` on a change) counts as a login attempt for
    that account from that address before the password is hashed, and a right one is forgiven.
    Without it, a stolen token would allow unlimited guesses of its user's password."""

    limits: LoginLimits
    address: str

    async def count(self, db: Connection, email: str) -> None:
        await self.limits.count(db=db, account=normalize_email(email), address=self.address)

    async def forgive(self, db: Connection, email: str) -> None:
        await self.limits.forgive(db=db, account=normalize_email(email), address=self.address)


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        username=row["username"],
        bio=row["bio"],
        image=row["image"],
        email=row["email"],
        created_at=row["created_at"],
    )


def public_user(row: Row, *, following: bool | None = None) -> UserPublic:
    """The user in a row's id, name, username, bio, image, created_at and following columns
    (`following` given instead when the row has none)."""
    return UserPublic(
        id=row["id"],
        name=row["name"],
        username=row["username"],
        bio=row["bio"],
        image=row["image"],
        created_at=row["created_at"],
        following=row["following"] if following is None else following,
    )


async def _taken(
    db: Connection, *, email: str | None, username: str | None, other_than: int = 0
) -> str | None:
    """Why another user (not `other_than`) stands in the way: their email or username is this
    one in any letter case; None when neither is. One statement, none when both are None."""
    checks = []
    if email is not None:
        checks.append(
            sa.exists()
            .where(sa.func.lower(users.c.email) == email, users.c.id != other_than)
            .label("email")
        )
    if username is not None:
        # Usernames are ASCII (models.Username), so Python's lower() is PostgreSQL's.
        checks.append(
            sa.exists()
            .where(sa.func.lower(users.c.username) == username.lower(), users.c.id != other_than)
            .label("username")
        )
    if not checks:
        return None
    row = await db.fetch_one(sa.select(*checks))
    if row is None:
        return None
    if email is not None and row["email"]:
        return _EMAIL_TAKEN
    if username is not None and row["username"]:
        return _USERNAME_TAKEN
    return None


async def sign_up(
    *, db: Connection, hasher: PasswordHasher, limits: SignupLimits, address: str, data: UserCreate
) -> User:
    """A new user, once the sign-up counts against the address's limit (TooManyAttempts past
    it); both APIs sign up through here."""
    await limits.count(db=db, address=address)
    return await create_user(db=db, hasher=hasher, data=data)


async def create_user(*, db: Connection, hasher: PasswordHasher, data: UserCreate) -> User:
    """Sign up. 409 (Conflict) when the email or the chosen username is taken in any letter
    case, also when another sign-up takes it while the password is hashed."""
    taken = await _taken(db, email=data.email, username=data.username)
    if taken is not None:
        await db.release()
        # As long as a sign-up that hashes, so the answer's timing does not tell the difference.
        await hasher.pretend()
        raise Conflict(taken)
    await db.release()
    password_hash = await hasher.hash(data.password)
    # Without a username, the trigger tg_users_username derives one from the name and id.
    statement = (
        postgresql.insert(users)
        .values(
            name=data.name, email=data.email, password_hash=password_hash, username=data.username
        )
        # Any unique index: the email's or the username's.
        .on_conflict_do_nothing()
        .returning(*_USER_COLUMNS)
    )
    row = await db.fetch_one(statement)
    if row is None:
        # Taken meanwhile: say which.
        taken = await _taken(db, email=data.email, username=data.username)
        raise Conflict(taken or _EMAIL_TAKEN)
    return _user(row)


async def get_token_user(*, db: Connection, claims: TokenClaims) -> User:
    """The user a token was made for, unless they are gone or their token version moved on."""
    row = await db.fetch_row(_TOKEN_USER, user_id=claims.user_id, version=claims.version)
    if row is None:
        raise AuthenticationFailed("the token is invalid or has expired")
    return _user(row)


async def get_public_user(
    *, db: Connection, user_id: int, reader: TokenClaims | None
) -> UserPublic:
    """A user as anyone may see them, with whether `reader` follows them: one statement."""
    row = await db.fetch_row(queries.USER_PROFILE, id=user_id, **reader_params(reader))
    if row is None:
        raise NotFound("user not found")
    return public_user(row)


async def get_profile_by_username(
    *, db: Connection, username: str, reader: TokenClaims | None
) -> Profile:
    """A user's profile by username in any letter case, with whether `reader` follows them:
    one statement, on the unique index of lower(username)."""
    # PostgreSQL text cannot hold NUL, and no username has one: no need to ask.
    row = (
        None
        if "\x00" in username
        else await db.fetch_row(
            queries.USER_PROFILE_BY_USERNAME, username=username, **reader_params(reader)
        )
    )
    if row is None:
        raise NotFound("user not found")
    return profile(row, USER)


async def user_exists(*, db: Connection, user_id: int) -> bool:
    statement = sa.select(sa.exists().where(users.c.id == user_id).label("found"))
    row = await db.fetch_one(statement)
    return bool(row and row["found"])


async def list_users(
    *, db: Connection, limit: int, after_id: int | None, reader: TokenClaims | None
) -> tuple[list[UserPublic], int | None]:
    """A page of users in id order, each with whether `reader` follows them (one statement),
    and the id to continue after, or None on the last page."""
    rows = await db.fetch_rows(
        queries.USERS_PAGE, after_id=after_id or 0, limit=limit + 1, **reader_params(reader)
    )
    page, last = split_page(rows, limit)
    return [public_user(row) for row in page], None if last is None else last["id"]


async def _check_password(
    db: Connection, hasher: PasswordHasher, *, user_id: int, password: str, guard: PasswordGuard
) -> str:
    """The user's stored hash once `password` proves to be theirs; the connection is released.
    The attempt counts against the guard's login limits first (TooManyAttempts past them)."""
    row = await db.fetch_one(
        sa.select(users.c.password_hash, users.c.email).where(users.c.id == user_id)
    )
    if row is None:
        raise AuthenticationFailed("the token is invalid or has expired")
    await guard.count(db, row["email"])
    await db.release()
    ok, _ = await hasher.verify(password, row["password_hash"])
    if not ok:
        raise Forbidden("the current password is not right")
    await guard.forgive(db, row["email"])
    stored: str = row["password_hash"]
    return stored


async def update_user(
    *,
    db: Connection,
    hasher: PasswordHasher,
    user_id: int,
    data: UserUpdate,
    guard: PasswordGuard,
) -> User:
    """Change the name, email, password, username, bio or image (None clears the last two).
    Email and password changes need the current password, checked under `guard`'s limits
    (TooManyAttempts past them, Forbidden when wrong); a password change ends every token
    made before it (token_version moves in the same UPDATE). 409 (Conflict) when another user
    has the email or username in any letter case."""
    fields = data.model_fields_set
    changes: dict[str, object] = {}
    condition = users.c.id == user_id
    if fields & {"email", "password"}:
        assert data.current_password is not None  # UserUpdate requires it for these
        stored = await _check_password(
            db, hasher, user_id=user_id, password=data.current_password, guard=guard
        )
        # Applies only if nobody changed the password since it was checked.
        condition = condition & (users.c.password_hash == stored)
    for field in ("name", "email", "username", "bio", "image"):
        if field in fields:
            changes[field] = getattr(data, field)
    taken = await _taken(
        db,
        email=data.email if "email" in fields else None,
        username=data.username if "username" in fields else None,
        other_than=user_id,
    )
    if taken is not None:
        raise Conflict(taken)
    if "password" in fields:
        await db.release()
        changes["password_hash"] = await hasher.hash(data.password)
        changes["token_version"] = users.c.token_version + 1
    statement = sa.update(users).where(condition).values(**changes).returning(*_USER_COLUMNS)
    try:
        row = await db.fetch_one(statement)
    except asyncpg.UniqueViolationError as exc:  # taken between the check and now
        raise Conflict(
            _USERNAME_TAKEN if exc.constraint_name == _USERNAME_INDEX else _EMAIL_TAKEN
        ) from None
    if row is None:
        raise Conflict("the account changed meanwhile; try again")
    return _user(row)


async def delete_user(
    *,
    db: Connection,
    hasher: PasswordHasher,
    user_id: int,
    current_password: str,
    guard: PasswordGuard,
) -> None:
    """Delete a user once their password is checked under `guard`'s limits; their blogs go with
    them (ON DELETE CASCADE), and so does every token (no row to match)."""
    stored = await _check_password(
        db, hasher, user_id=user_id, password=current_password, guard=guard
    )
    deleted = await db.fetch_one(
        sa.delete(users)
        .where(users.c.id == user_id, users.c.password_hash == stored)
        .returning(users.c.id)
    )
    if deleted is None:
        raise Conflict("the account changed meanwhile; try again")


async def log_in(
    *, db: Connection, hasher: PasswordHasher, email: str, password: str, guard: PasswordGuard
) -> TokenClaims:
    """What a token for the user with this email and password carries: the attempt counts
    against the guard's login limits before the password is checked (TooManyAttempts past
    them), and a right password takes it back. Both APIs log in through here."""
    account = normalize_email(email)
    await guard.count(db, account)
    claims = await authenticate(db=db, hasher=hasher, email=account, password=password)
    await guard.forgive(db, account)
    return claims


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
