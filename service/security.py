"""Password hashing and access tokens."""

from datetime import UTC, datetime, timedelta

import anyio.to_thread
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from service.errors import AuthenticationFailed

ALGORITHM = "HS256"

_hasher = PasswordHash((Argon2Hasher(),))

# Verified against when an email is unknown, so a login takes as long for an unknown email as
# for a wrong password and its timing does not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    # Argon2 is deliberately slow; hashing in a thread keeps the event loop serving.
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash (unknown user) check a dummy one and return False."""
    ok = await anyio.to_thread.run_sync(_hasher.verify, password, password_hash or _DUMMY_HASH)
    return ok and password_hash is not None


def create_access_token(*, user_id: int, secret: str, expires_in: timedelta) -> str:
    now = datetime.now(UTC)
    # iat keeps microseconds, so a token issued just after a password change is told apart
    # from one issued just before it.
    claims = {"sub": str(user_id), "iat": now.timestamp(), "exp": now + expires_in}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(token: str, *, secret: str) -> tuple[int, datetime]:
    """The user id and issue time inside a valid, unexpired token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "iat", "exp"]}
        )
        user_id = int(claims["sub"])
        issued_at = datetime.fromtimestamp(claims["iat"], UTC)
    except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
        raise AuthenticationFailed("the token is invalid or has expired") from None
    if not 0 < user_id < 2**63:
        raise AuthenticationFailed("the token is invalid or has expired")
    return user_id, issued_at
