"""Who is calling, from `Authorization: Token <jwt>` (the spec's scheme; `Bearer` is accepted
too), with the native API's rules (service.api.dependencies.TokenChecks): the same tokens, a
stale token reads as anonymous, and every write counts against the writer's limit once the token
is checked."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from service.api.dependencies import TokenChecks, token_claims, token_from
from service.errors import AuthenticationFailed
from service.models import User
from service.tokens import TokenClaims

_MISSING = "a token is required: send the header `Authorization: Token <token>`"
_SCHEMES = frozenset({"token", "bearer"})


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
        header = await super().__call__(request)
        token = token_from(header, schemes=_SCHEMES, expected="`Token <token>`")
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


_SIGNED_IN = TokenHeaderClaims(required=True)
_CHECKS = TokenChecks(_SIGNED_IN)

Reader = Annotated[TokenClaims | None, Depends(TokenHeaderClaims(required=False))]
"""The reader's claims from the token alone (no query), None when anonymous; a bad or expired
token is a 401."""

SignedInReader = Annotated[TokenClaims, Depends(_SIGNED_IN)]
"""Like `Reader`, but 401 without a token; the statement that uses it checks its version."""

SignedInToken = Annotated[str, Depends(TokenHeader(required=True))]

CurrentUser = Annotated[User, Depends(_CHECKS.current_user)]
"""The caller's account, checked against their token version (one statement)."""

CurrentReader = Annotated[TokenClaims, Depends(_CHECKS.current_reader)]
"""The caller's claims, checked as `CurrentUser` checks them (the same statement)."""

CountedWrite = Depends(_CHECKS.count_write)
