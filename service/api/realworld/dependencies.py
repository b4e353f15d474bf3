"""Who is calling, from `Authorization: Token <jwt>` (the spec's scheme; `Bearer` is accepted
too), with the native API's rules: the same tokens, a stale token reads as anonymous, and every
write counts against the writer's limit."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.api.dependencies import DbDep, token_claims
from service.errors import AuthenticationFailed
from service.limits import WriteLimits
from service.models import User
from service.tokens import TokenClaims
from service.users import get_token_user

_MISSING = "a token is required: send `Authorization: Token <token>`"
_MALFORMED = "the Authorization header must be `Token <token>`"
_SCHEMES = frozenset({"token", "bearer"})


def _token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token:
        raise AuthenticationFailed(_MALFORMED)
    return token


class TokenHeader(APIKeyHeader):
    """The token from the Authorization header: None without one, unless `required`."""

    def __init__(self, *, required: bool) -> None:
        super().__init__(
            name="Authorization",
            scheme_name="Token",
            description="`Token <jwt>`, the token from POST /api/users or POST /api/users/login.",
            auto_error=False,
        )
        self.required = required

    async def token(self, request: Request) -> str | None:
        token = _token(await super().__call__(request))
        if token is None and self.required:
            raise AuthenticationFailed(_MISSING)
        return token

    # Overridden to answer the token without its scheme.
    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        return await self.token(request)


class TokenHeaderClaims(TokenHeader):
    """The token's claims, decoded by the security scheme itself: one dependency, as the native
    `BearerClaims`."""

    async def __call__(self, request: Request) -> TokenClaims | None:  # type: ignore[override]
        token = await self.token(request)
        return None if token is None else token_claims(request, token)


Reader = Annotated[TokenClaims | None, Depends(TokenHeaderClaims(required=False))]
"""The reader's claims from the token alone (no query), None when anonymous; a bad or expired
token is a 401."""

SignedInReader = Annotated[TokenClaims, Depends(TokenHeaderClaims(required=True))]
"""Like `Reader`, but 401 without a token; the statement that uses it checks its version."""

SignedInToken = Annotated[str, Depends(TokenHeader(required=True))]


async def get_current_user(db: DbDep, reader: SignedInReader) -> User:
    """The caller's account, checked against their token version (one statement)."""
    return await get_token_user(db=db, claims=reader)


CurrentUser = Annotated[User, Depends(get_current_user)]


async def count_write(request: Request, db: DbDep, writer: SignedInReader) -> None:
    """Count one write against the writer's limit (429 past it), as every native write does."""
    limits: WriteLimits = request.app.state.write_limits
    await limits.count(db=db, user_id=writer.user_id)


CountedWrite = Depends(count_write)
