"""Facts about the database the service runs on, read once at start."""

import sqlalchemy as sa

from service.db.database import Connection
from service.db.tables import deployment


class ConfigurationError(Exception):
    """A setting does not fit the database; the service cannot start."""


async def deployment_id(*, db: Connection) -> str:
    """This database's id (the audience of its access tokens); a reseed draws a new one."""
    row = await db.fetch_one(sa.select(deployment.c.id))
    if row is None:
        raise ConfigurationError("the deployment table is empty: run `python -m service migrate`")
    return str(row["id"])


async def check_search_config(*, db: Connection, name: str) -> None:
    """SEARCH_CONFIG must name a text search configuration the database has."""
    statement = sa.text(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_ts_config WHERE cfgname = :name) AS found"
    ).bindparams(name=name)
    row = await db.fetch_one(statement)
    if not (row and row["found"]):
        raise ConfigurationError(
            f"SEARCH_CONFIG={name}: the database has no such text search configuration "
            "(see \\dF in psql; `simple` always exists)"
        )


async def server_version(*, db: Connection) -> str:
    row = await db.fetch_one(sa.select(sa.func.current_setting("server_version").label("v")))
    return str(row["v"]) if row else "unknown"
