"""FastAPI dependencies and their `Annotated` aliases."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.api.cursors import CursorCodec
from service.db.database import Connection
from service.db.replicas import Databases
from service.errors import AuthenticationFailed
from service.limits import LoginLimits, SignupLimits, WriteLimits
from service.models import User
from service.observability import context
from service.passwords import PasswordHasher
from service.profiles import reader_current
from service.settings import Settings
from service.tokens import TokenClaims, TokenCodec
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

optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


async def get_reader(
    tokens: TokensDep, token: Annotated[str | None, Depends(optional_oauth2_scheme)]
) -> TokenClaims | None:
    """Who is reading, from the token alone (no query): None when anonymous. A bad or expired
    token is a 401; a token whose version has moved on reads as anonymous, because the read's
    own statement only counts the reader's favorites and follows when the version is current."""
    if token is None:
        return None
    claims = tokens.decode(token)
    context.user_id.set(claims.user_id)
    return claims


Reader = Annotated[TokenClaims | None, Depends(get_reader)]


async def get_signed_in_reader(
    tokens: TokensDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> TokenClaims:
    """Like `Reader`, for reads that need a signed-in reader: 401 without a token. The read's own
    statement checks the token's version (see service/profiles.py)."""
    claims = tokens.decode(token)
    context.user_id.set(claims.user_id)
    return claims


SignedInReader = Annotated[TokenClaims, Depends(get_signed_in_reader)]


async def get_current_reader(
    db: DbDep, tokens: TokensDep, token: Annotated[str, Depends(oauth2_scheme)]
) -> TokenClaims:
    """The signed-in caller's token claims, checked against their user like `CurrentUser`."""
    claims = tokens.decode(token)
    if not await reader_current(db=db, claims=claims):
        raise AuthenticationFailed("the token is invalid or has expired")
    context.user_id.set(claims.user_id)
    return claims


CurrentReader = Annotated[TokenClaims, Depends(get_current_reader)]


async def count_write(request: Request, db: DbDep, writer: SignedInReader) -> None:
    """Count one write against the writer's limit (429 past it); a dependency of every route
    that writes blogs, comments, favorites or follows."""
    limits: WriteLimits = request.app.state.write_limits
    await limits.count(db=db, user_id=writer.user_id)


CountedWrite = Depends(count_write)
