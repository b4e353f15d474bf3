"""FastAPI dependencies and their `Annotated` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import OAuth2PasswordBearer

from service.cursors import CursorCodec
from service.database import Connection, Database
from service.login_limits import LoginLimiter
from service.models import MAX_PAGE_SIZE, User
from service.security import read_access_token
from service.settings import Settings
from service.users import get_token_user

MAX_ID = 2**63 - 1

# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` ones in a
# thread pool, a thread hop per dependency per request.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_cursors(request: Request) -> CursorCodec:
    return request.app.state.cursors


async def get_login_limiter(request: Request) -> LoginLimiter:
    return request.app.state.login_limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
LoginLimiterDep = Annotated[LoginLimiter, Depends(get_login_limiter)]


async def get_db(database: DatabaseDep) -> AsyncIterator[Connection]:
    """One pooled connection for the whole request, released as soon as the endpoint returns."""
    async with database.connection() as connection:
        yield connection


DbDep = Annotated[Connection, Depends(get_db, scope="function")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


async def get_current_user(
    db: DbDep, settings: SettingsDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> User:
    user_id, issued_at = read_access_token(token, secret=settings.token_secret)
    return await get_token_user(db=db, user_id=user_id, issued_at=issued_at)


CurrentUser = Annotated[User, Depends(get_current_user)]


UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="A user's id.")]
BlogId = Annotated[int, Path(ge=1, le=MAX_ID, description="A blog's id.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, 1-{MAX_PAGE_SIZE}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200, description="The `next_cursor` of the previous page; omit for the first."
    ),
]
