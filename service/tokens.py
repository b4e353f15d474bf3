"""Access tokens: HS256 JWTs naming a user and their token version.

Claims: `sub` (user id), `ver` (the user's token_version when it was made), `iat`, `exp`, `iss`
(TOKEN_ISSUER) and `aud` (this database's deployment id). The key is derived from TOKEN_SECRET
for tokens alone, so no other signed value (a page cursor) can serve as an oracle for it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from service.errors import AuthenticationFailed
from service.keys import derive_key
from service.models import MAX_ID

ALGORITHM = "HS256"
_INVALID = "the token is invalid or has expired"


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    version: int


class TokenCodec:
    def __init__(self, *, secret: str, issuer: str, audience: str, expires_in: timedelta) -> None:
        self._key = derive_key(secret, "access tokens")
        self._issuer = issuer
        self._audience = audience
        self._expires_in = expires_in

    def encode(self, *, user_id: int, version: int) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "ver": version,
            "iat": now,
            "exp": now + self._expires_in,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired token of this deployment."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["sub", "ver", "iat", "exp", "iss", "aud"]},
            )
            user_id = int(claims["sub"])
            version = claims["ver"]
        except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
            raise AuthenticationFailed(_INVALID) from None
        if not 0 < user_id <= MAX_ID or type(version) is not int or not 0 <= version <= MAX_ID:
            raise AuthenticationFailed(_INVALID)
        return TokenClaims(user_id=user_id, version=version)
