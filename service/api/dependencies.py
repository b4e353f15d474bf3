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


async def get_db(request: Request) -> AsyncIterator[Connection]:
    """One pooled connection for the whole request, released as soon as the endpoint returns.

    Anonymous reads (GET without a bearer token) go to a replica when there is a healthy one;
    everything else to the primary, so whoever writes reads their own writes.
    """
    databases: Databases = request.app.state.databases
    if request.method == "GET" and "authorization" not in request.headers:
        async with databases.reading() as connection:
            yield connection
    else:
        async with databases.writing() as connection:
            yield connection


DbDep = Annotated[Connection, Depends(get_db, scope="function")]


def token_claims(request: Request, token: str) -> TokenClaims:
    """The claims of a token the app's codec accepts (no query); a 401 otherwise."""
    tokens: TokenCodec = request.app.state.tokens
    claims = tokens.decode(token)
    context.user_id.set(claims.user_id)  # for the request's log lines
    return claims


class BearerClaims(OAuth2PasswordBearer):
    """The bearer token's claims, or None without a token when `auto_error` is false.

    The security scheme itself decodes the token: one dependency where a scheme, the codec and a
    decoder were three, and FastAPI's cost is per dependency on every request. OpenAPI still
    sees the OAuth2 password scheme.
    """

    # Overridden to answer the claims, not the token string.
    async def __call__(self, request: Request) -> TokenClaims | None:  # type: ignore[override]
        token = await super().__call__(request)
        return None if token is None else token_claims(request, token)


_LOGIN_PATH = "/auth/token"
_SCHEME = "OAuth2PasswordBearer"
Reader = Annotated[
    TokenClaims | None,
    Depends(BearerClaims(tokenUrl=_LOGIN_PATH, scheme_name=_SCHEME, auto_error=False)),
]
"""Who is reading, from the token alone (no query): None when anonymous. A bad or expired token
is a 401; a token whose version has moved on reads as anonymous, because the read's own
statement only counts the reader's favorites and follows when the version is current."""

SignedInReader = Annotated[
    TokenClaims, Depends(BearerClaims(tokenUrl=_LOGIN_PATH, scheme_name=_SCHEME))
]
"""Like `Reader`, for reads that need a signed-in reader: 401 without a token. The read's own
statement checks the token's version (see service/profiles.py)."""


async def get_current_user(db: DbDep, claims: SignedInReader) -> User:
    return await get_token_user(db=db, claims=claims)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_current_reader(db: DbDep, claims: SignedInReader) -> TokenClaims:
    """The signed-in caller's token claims, checked against their user like `CurrentUser`."""
    if not await reader_current(db=db, claims=claims):
        raise AuthenticationFailed("the token is invalid or has expired")
    return claims


CurrentReader = Annotated[TokenClaims, Depends(get_current_reader)]


async def count_write(request: Request, db: DbDep, writer: SignedInReader) -> None:
    """Count one write against the writer's limit (429 past it); a dependency of every route
    that writes blogs, comments, favorites or follows."""
    limits: WriteLimits = request.app.state.write_limits
    await limits.count(db=db, user_id=writer.user_id)


CountedWrite = Depends(count_write)
