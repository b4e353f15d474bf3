"""What the database's refusals of a single statement mean to the caller, the same for both APIs.

A foreign key broken by a concurrent deletion: a row the statement refers to was deleted while
it ran. A user who is gone is the caller themself in every statement but a follow's target (a
token of a deleted account: 401); anything else is a 404.

A deadlock or a serialization failure: PostgreSQL cancelled the statement so another could go
on. A statement run on its own changed nothing, so it is tried again (service.db.database); one
that still loses, or runs inside a longer transaction, is answered as a busy database (503 with
Retry-After), never a 500.
"""

import asyncpg

from service.errors import AuthenticationFailed, DatabaseUnavailable, DomainError, NotFound

CONFLICTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
RETRIES = 2
"""How many times a statement cancelled by a conflict is tried again."""

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
