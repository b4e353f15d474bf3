"""What every query that shows a user beside their writing shares: the reader, and the profile.

The named queries that show blogs, comments or profiles take the reader as two parameters,
`reader_id` and `reader_version` (NULL for an anonymous reader), and count the reader's
favorites and follows only through `reader AS (SELECT id FROM users WHERE id = reader_id AND
token_version = reader_version)`: a token from before a password change reads as anonymous,
and no statement is spent checking it.
"""

from typing import Any

import sqlalchemy as sa

from service.db.built import built
from service.db.database import Connection, Row
from service.db.tables import users
from service.models import Profile
from service.tokens import TokenClaims

TOKEN_CURRENT = sa.and_(
    users.c.id == sa.bindparam("user_id"), users.c.token_version == sa.bindparam("version")
)
"""The token's user, at the token's version: `user_id` and `version` passed per call."""

_READER_CURRENT = built(
    "reader_current", sa.select(sa.exists().where(TOKEN_CURRENT).label("current")), read_only=True
)


async def reader_current(*, db: Connection, claims: TokenClaims) -> bool:
    """Whether the token's user still exists with that token version."""
    row = await db.fetch_row(_READER_CURRENT, user_id=claims.user_id, version=claims.version)
    return bool(row and row["current"])


def reader_params(reader: TokenClaims | None) -> dict[str, Any]:
    if reader is None:
        return {"reader_id": None, "reader_version": None}
    return {"reader_id": reader.user_id, "reader_version": reader.version}


class ProfileColumns:
    """Where a row carries a profile: its `<prefix>id`, `<prefix>name`, ... `<prefix>following`
    columns (the names made once, not per row)."""

    def __init__(self, prefix: str) -> None:
        self.columns = tuple((field, f"{prefix}{field}") for field in Profile.model_fields)


OWNER = ProfileColumns("owner_")
AUTHOR = ProfileColumns("author_")
USER = ProfileColumns("")


def profile_fields(row: Row, where: ProfileColumns) -> dict[str, Any]:
    return {field: row[column] for field, column in where.columns}


def profile(row: Row, where: ProfileColumns) -> Profile:
    return Profile.model_validate(profile_fields(row, where))
