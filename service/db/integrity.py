"""What the database's refusals of a single statement mean to the caller, the same for both APIs.

A foreign key broken by a concurrent deletion: a row the statement refers to was deleted while
it ran. A user who is gone is the caller themself in every statement but a follow's target (a
token of a deleted account: 401); anything else is a 404.

A deadlock or a serialization failure: PostgreSQL cancelled the statement so another could go
on. A statement run on its own changed nothing, so it is tried again (service.db.database); one
that still loses, or runs inside a longer transaction, is answered as a busy database (503 with
Retry-After), never a 500.
"""

import asyncio
import random

import asyncpg

from service.errors import AuthenticationFailed, DatabaseUnavailable, DomainError, NotFound

CONFLICTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
RETRIES = 2
"""How many times a statement cancelled by a conflict is tried again."""


async def pause_before_retry(attempt: int) -> None:
    """A short, jittered pause, so the transaction that won goes first: a statement sent again
    at once may take the first of the rows again and meet the winner in the same cycle."""
    await asyncio.sleep((attempt + 1) * random.uniform(0.05, 0.1))  # noqa: S311 - not security


_TOKEN_INVALID = "the token is invalid or has expired"  # noqa: S105 - a message
# Foreign keys to users whose user is not the one making the request.
_OTHER_USER_KEYS = frozenset({"fk_follows_followed_id_users"})


def vanished(exc: asyncpg.exceptions.ForeignKeyViolationError) -> DomainError:
    """The domain error for a row referred to that was deleted while the statement ran."""
    # Constraint names end with the referred table (service.db.tables' naming convention).
    name = exc.constraint_name or ""
    if name.endswith("_users"):
        if name in _OTHER_USER_KEYS:
            return NotFound("user not found")
        return AuthenticationFailed(_TOKEN_INVALID)
    if name.endswith("_blogs"):
        return NotFound("blog not found")
    return NotFound("it was deleted meanwhile; fetch it again")


def lost_conflict() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "the change conflicted with another one at the same moment; try again", reason="conflict"
    )
