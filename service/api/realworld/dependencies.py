"""Who is calling, from `Authorization: Token <jwt>` (the spec's scheme; `Bearer` is accepted
too), with the native API's rules: the same tokens, a stale token reads as anonymous, and every
write counts against the writer's limit."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.api.dependencies import DbDep, TokensDep
from service.errors import AuthenticationFailed
from service.limits import WriteLimits
from service.models import User
from service.observability import context
from service.tokens import TokenClaims
from service.users import get_token_user

_MISSING = "a token is required: send `Authorization: Token <token>`"
_MALFORMED = "the Authorization header must be `Token <token>`"
_SCHEMES = frozenset({"token", "bearer"})

authorization_header = APIKeyHeader(
    name="Authorization",
    scheme_name="Token",
    description="`Token <jwt>`, the token from POST /api/users or POST /api/users/login.",
    auto_error=False,
)


def _token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token:
        raise AuthenticationFailed(_MALFORMED)
    return token


async def get_raw_token(
    header: Annotated[str | None, Depends(authorization_header)],
) -> str | None:
    return _token(header)


RawToken = Annotated[str | None, Depends(get_raw_token)]


async def get_reader(tokens: TokensDep, token: RawToken) -> TokenClaims | None:
    """The reader's claims from the token alone (no query), None when anonymous; a bad or
    expired token is a 401."""
    if token is None:
        return None
    claims = tokens.decode(token)
    context.user_id.set(claims.user_id)
    return claims


Reader = Annotated[TokenClaims | None, Depends(get_reader)]


async def get_signed_in_reader(reader: Reader) -> TokenClaims:
    """Like `Reader`, but 401 without a token; the statement that uses it checks its version."""
    if reader is None:
        raise AuthenticationFailed(_MISSING)
    return reader


SignedInReader = Annotated[TokenClaims, Depends(get_signed_in_reader)]


async def get_signed_in_token(token: RawToken) -> str:
    if token is None:
        raise AuthenticationFailed(_MISSING)
    return token


SignedInToken = Annotated[str, Depends(get_signed_in_token)]


async def get_current_user(db: DbDep, reader: SignedInReader) -> User:
    """The caller's account, checked against their token version (one statement)."""
    return await get_token_user(db=db, claims=reader)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def count_write(request: Request, db: DbDep, writer: SignedInReader) -> None:
    """Count one write against the writer's limit (429 past it), as every native write does."""
    limits: WriteLimits = request.app.state.write_limits
    await limits.count(db=db, user_id=writer.user_id)


CountedWrite = Depends(count_write)
