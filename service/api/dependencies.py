"""FastAPI dependencies and their `Annotated` aliases."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from service.api import state
from service.api.cursors import CursorCodec
from service.db.database import Connection
from service.db.replicas import Databases
from service.errors import AuthenticationFailed
from service.limits import LoginLimits, SignupLimits
from service.models import User
from service.observability import context
from service.passwords import PasswordHasher
from service.settings import Settings
from service.tokens import TokenClaims, TokenCodec
from service.users import PasswordGuard, get_token_user

# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` ones in a
# thread pool, a thread hop per dependency per request.


async def get_settings(request: Request) -> Settings:
    return state.of(request).settings


async def get_databases(request: Request) -> Databases:
    return state.of(request).databases


async def get_cursors(request: Request) -> CursorCodec:
    return state.of(request).cursors


async def get_tokens(request: Request) -> TokenCodec:
    return state.of(request).tokens


async def get_hasher(request: Request) -> PasswordHasher:
    return state.of(request).hasher


async def get_login_limits(request: Request) -> LoginLimits:
    return state.of(request).login_limits


async def get_signup_limits(request: Request) -> SignupLimits:
    return state.of(request).signup_limits


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


async def get_password_guard(request: Request, address: ClientAddress) -> PasswordGuard:
    """Where a password check comes from, and the login limits it counts against."""
    return PasswordGuard(limits=state.of(request).login_limits, address=address)


PasswordGuardDep = Annotated[PasswordGuard, Depends(get_password_guard)]


async def get_db(request: Request) -> AsyncIterator[Connection]:
    """One pooled connection for the whole request, released as soon as the endpoint returns.

    Anonymous reads (GET without a bearer token) go to a replica when there is a healthy one;
    everything else to the primary, so whoever writes reads their own writes.
    """
    databases = state.of(request).databases
    if request.method == "GET" and "authorization" not in request.headers:
        async with databases.reading() as connection:
            yield connection
    else:
        async with databases.writing() as connection:
            yield connection


DbDep = Annotated[Connection, Depends(get_db, scope="function")]


def token_claims(request: Request, token: str) -> TokenClaims:
    """The claims of a token the app's codec accepts (no query); a 401 otherwise."""
    claims = state.of(request).tokens.decode(token)
    context.user_id.set(claims.user_id)  # for the request's log lines
    return claims


def token_from(header: str | None, *, schemes: frozenset[str], expected: str) -> str | None:
    """The token in an Authorization header, None without one; a 401 that says what to send
    (`expected`) for a header with another scheme, or with no token."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in schemes or not token:
        raise AuthenticationFailed(f"the Authorization header must be {expected}")
    return token


ClaimsScheme = Callable[[Request], Awaitable[TokenClaims | None]]


class TokenChecks:
    """What both APIs check of a signed-in caller, whatever their token scheme (`signed_in`):
    the user and the token version, in one statement made once per request, before any write
    is counted. Each API keeps its own aliases over these dependencies."""

    def __init__(self, signed_in: ClaimsScheme) -> None:
        async def current_user(
            db: DbDep, claims: Annotated[TokenClaims, Depends(signed_in)]
        ) -> User:
            return await get_token_user(db=db, claims=claims)

        async def current_reader(
            user: Annotated[User, Depends(current_user)],
            claims: Annotated[TokenClaims, Depends(signed_in)],
        ) -> TokenClaims:
            return claims

        async def count_write(
            request: Request,
            db: DbDep,
            writer: Annotated[TokenClaims, Depends(current_reader)],
        ) -> None:
            await state.of(request).write_limits.count(db=db, user_id=writer.user_id)

        self.current_user = current_user
        """The caller's account: a 401 for a token whose user is gone or whose version moved on."""
        self.current_reader = current_reader
        """The caller's claims, checked as `current_user` checks them (the same statement)."""
        self.count_write = count_write
        """Count one write against the writer's limit (429 past it), once the token is checked:
        a stale token (or a deleted user's) is a 401 and spends nobody's quota."""


_LOGIN_PATH = "/auth/token"
_SCHEME = "OAuth2PasswordBearer"
_BEARER = frozenset({"bearer"})
_SEND_BEARER = "`Bearer <token>`, with the access_token from POST /auth/token"
_MISSING = (
    "a token is required: send the header `Authorization: Bearer <token>`, with the "
    "access_token from POST /auth/token"
)


class BearerClaims(OAuth2PasswordBearer):
    """The bearer token's claims, or None without a token when `auto_error` is false.

    The security scheme itself decodes the token: one dependency where a scheme, the codec and a
    decoder were three, and FastAPI's cost is per dependency on every request. OpenAPI still
    sees the OAuth2 password scheme. A header with another scheme is a 401 saying what to send.
    """

    def __init__(self, *, auto_error: bool = True) -> None:
        super().__init__(tokenUrl=_LOGIN_PATH, scheme_name=_SCHEME, auto_error=auto_error)

    # Overridden to answer the claims, not the token string.
    async def __call__(self, request: Request) -> TokenClaims | None:  # type: ignore[override]
        header = request.headers.get("Authorization")
        token = token_from(header, schemes=_BEARER, expected=_SEND_BEARER)
        if token is None:
            if self.auto_error:
                raise AuthenticationFailed(_MISSING)
            return None
        return token_claims(request, token)


_SIGNED_IN = BearerClaims()
_CHECKS = TokenChecks(_SIGNED_IN)

Reader = Annotated[TokenClaims | None, Depends(BearerClaims(auto_error=False))]
"""Who is reading, from the token alone (no query): None when anonymous. A bad or expired token
is a 401; a token whose version has moved on reads as anonymous, because the read's own
statement only counts the reader's favorites and follows when the version is current."""

SignedInReader = Annotated[TokenClaims, Depends(_SIGNED_IN)]
"""Like `Reader`, for reads that need a signed-in reader: 401 without a token. The read's own
statement checks the token's version (see service/profiles.py)."""

CurrentUser = Annotated[User, Depends(_CHECKS.current_user)]
CurrentReader = Annotated[TokenClaims, Depends(_CHECKS.current_reader)]
CountedWrite = Depends(_CHECKS.count_write)
