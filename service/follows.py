"""Data functions for follows: one user following another.

Each is one statement (sql/queries/follow.sql, unfollow.sql) that also checks the follower's
token version, so a request needs no other: a token from before a password change is refused
(AuthenticationFailed) by the statement that would have used it.
"""

from service.db import queries
from service.db.database import Connection, Row
from service.errors import AuthenticationFailed, Conflict, InvalidValue, NotFound
from service.models import MAX_FOLLOWS, UserPublic
from service.tokens import TokenClaims
from service.users import public_user

_USER_NOT_FOUND = "user not found"
_NO_FOLLOWER = "the token is invalid or has expired"


def _checked(row: Row | None, follower: TokenClaims, action: str) -> Row:
    """The row of follow.sql or unfollow.sql, once it shows none of what both refuse: a stale
    token, an unknown user, the follower themself."""
    if row is None or not row["follower_found"]:
        raise AuthenticationFailed(_NO_FOLLOWER)
    if row["id"] is None:
        raise NotFound(_USER_NOT_FOUND)
    if row["id"] == follower.user_id:
        raise InvalidValue(f"you cannot {action} yourself", field="user_id")
    return row


async def follow(*, db: Connection, follower: TokenClaims, followed_id: int) -> UserPublic:
    """`follower` follows the user `followed_id`; that user, now followed. Conflict when they
    already follow them or follow MAX_FOLLOWS users; NotFound for an unknown user; InvalidValue
    for themself."""
    # Either user deleted since the statement began: service.db.integrity answers for it.
    found = await db.fetch_row(
        queries.FOLLOW,
        follower_id=follower.user_id,
        follower_version=follower.version,
        followed_id=followed_id,
        max_follows=MAX_FOLLOWS,
    )
    row = _checked(found, follower, "follow")
    if row["followed_now"]:
        return public_user(row, following=True)
    if not row["already_following"] and row["follows"] >= MAX_FOLLOWS:
        raise Conflict(
            f"you already follow {MAX_FOLLOWS} users, the most allowed; unfollow someone first"
        )
    # Followed before, or by a request of theirs that committed since the statement began.
    raise Conflict("you already follow this user")


async def unfollow(*, db: Connection, follower: TokenClaims, followed_id: int) -> UserPublic:
    """`follower` stops following the user `followed_id`; that user, no longer followed.
    NotFound for an unknown user or one they do not follow; InvalidValue for themself."""
    found = await db.fetch_row(
        queries.UNFOLLOW,
        follower_id=follower.user_id,
        follower_version=follower.version,
        followed_id=followed_id,
    )
    row = _checked(found, follower, "unfollow")
    if not row["unfollowed"]:
        raise NotFound("you do not follow this user")
    return public_user(row, following=False)
