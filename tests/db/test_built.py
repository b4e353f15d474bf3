"""Core statements compiled once (service.db.built), run as named queries on a real database."""

from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from service.db.built import BuiltStatementError, built
from service.db.database import Connection
from service.db.tables import users

pytestmark = pytest.mark.anyio

NEW_USER = built(
    "new_user",
    postgresql.insert(users)
    .values(
        name=sa.bindparam("name"),
        email=sa.bindparam("email"),
        password_hash=sa.bindparam("password_hash"),
    )
    .returning(users.c.id, users.c.name, users.c.created_at),
    read_only=False,
)


def test_parameters_are_numbered_by_first_use_and_a_repeated_name_is_one_parameter() -> None:
    query = built(
        "named",
        sa.select(users.c.id).where(
            users.c.token_version == sa.bindparam("version"),
            users.c.id == sa.bindparam("user_id"),
            users.c.id != sa.bindparam("version"),
        ),
        read_only=True,
    )
    assert query.params == ("version", "user_id")
    assert "$1" in query.sql and "$2" in query.sql and "$3" not in query.sql
    assert query.args({"user_id": 7, "version": 2}) == [2, 7]
    assert query.read_only


@pytest.mark.parametrize(
    "where",
    [
        users.c.name == "fixed",
        users.c.id.in_(sa.bindparam("ids", expanding=True)),
    ],
    ids=["a literal", "an expanding list"],
)
def test_a_value_fixed_in_the_statement_is_refused(where: sa.ColumnElement[bool]) -> None:
    with pytest.raises(BuiltStatementError, match=r"every value must be a sa\.bindparam"):
        built("fixed", sa.select(users.c.id).where(where), read_only=True)


async def test_a_built_statement_runs_with_keywords_and_python_types(db: Connection) -> None:
    made = await db.fetch_row(NEW_USER, name="Built", email="built@example.com", password_hash="x")
    assert made is not None
    assert isinstance(made["created_at"], datetime) and made["created_at"].tzinfo is not None

    by_id = built(
        "user_by_ids",
        sa.select(users.c.id, users.c.name).where(
            users.c.id == sa.func.any(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger)))
        ),
        read_only=True,
    )
    rows = await db.fetch_rows(by_id, ids=[made["id"], -1])
    assert [(row["id"], row["name"]) for row in rows] == [(made["id"], "Built")]
    with pytest.raises(TypeError, match="takes ids"):
        await db.fetch_rows(by_id, id=made["id"])
