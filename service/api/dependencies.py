"""FastAPI dependencies and their `Annotated` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.api.cursors import CursorCodec
from service.api.login_limits import LoginLimiter
from service.db.database import Connection, Database
from service.models import User
from service.security import read_access_token
from service.settings import Settings
from service.users import get_token_user

# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` ones in a
# thread pool, a thread hop per dependency per request.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


async def get_login_limiter(request: Request) -> LoginLimiter:
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


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
