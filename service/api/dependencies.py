"""FastAPI dependencies and their `Annotated` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.api.cursors import CursorCodec
from service.db.database import Connection
from service.db.replicas import Databases
from service.limits import LoginLimits, SignupLimits
from service.models import User
from service.observability import context
from service.passwords import PasswordHasher
from service.settings import Settings
from service.tokens import TokenCodec
from service.users import get_token_user

# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` ones in a
# thread pool, a thread hop per dependency per request.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_databases(request: Request) -> Databases:
    databases: Databases = request.app.state.databases
    return databases


async def get_cursors(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


async def get_tokens(request: Request) -> TokenCodec:
    tokens: TokenCodec = request.app.state.tokens
    return tokens


async def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


async def get_login_limits(request: Request) -> LoginLimits:
    limits: LoginLimits = request.app.state.login_limits
    return limits


async def get_signup_limits(request: Request) -> SignupLimits:
    limits: SignupLimits = request.app.state.signup_limits
    return limits


async def get_client_address(request: Request) -> str:
    """The peer's address; a trusted proxy's X-Forwarded-For only when FORWARDED_ALLOW_IPS
    names it (the server applies it before the app sees the request)."""
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabasesDep = Annotated[Databases, Depends(get_databases)]
CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
TokensDep = Annotated[TokenCodec, Depends(get_tokens)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
LoginLimitsDep = Annotated[LoginLimits, Depends(get_login_limits)]
SignupLimitsDep = Annotated[SignupLimits, Depends(get_signup_limits)]
ClientAddress = Annotated[str, Depends(get_client_address)]


async def get_db(request: Request, databases: DatabasesDep) -> AsyncIterator[Connection]:
    """One pooled connection for the whole request, released as soon as the endpoint returns.

    Anonymous reads (GET without a bearer token) go to a replica when there is a healthy one;
    everything else to the primary, so whoever writes reads their own writes.
    """
    if request.method == "GET" and "authorization" not in request.headers:
        async with databases.reading() as connection:
            yield connection
    else:
        async with databases.writing() as connection:
            yield connection


DbDep = Annotated[Connection, Depends(get_db, scope="function")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


async def get_current_user(
    db: DbDep, tokens: TokensDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> User:
    user = await get_token_user(db=db, claims=tokens.decode(token))
    context.user_id.set(user.id)  # for the request's log lines
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
