"""Apply the plain-SQL migrations in `sql/migrations/`, in order, exactly once.

Each file `NNNN_name.sql` runs in its own transaction, recorded in `schema_migrations` with its
checksum. A PostgreSQL advisory lock serialises concurrent runs, so two processes starting at
once apply nothing twice. An applied file that has since changed is refused, not re-run.

A file whose first line is `-- transaction: no` runs outside a transaction, for what PostgreSQL
refuses inside one (`CREATE INDEX CONCURRENTLY`, which does not block writes on a live table).
It holds one statement (PostgreSQL runs several sent at once as one transaction, and refuses
CREATE INDEX CONCURRENTLY there), so a failure can leave nothing half-applied but an INVALID
index; the run then stops before recording it, naming the index to drop before the next try.
"""

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from service.db.search import session_settings
from service.db.sql_files import MIGRATIONS_DIR
from service.db.urls import connect_to_primary

# Any constant works; this one is "blog-api" read as bytes, so it is easy to spot in pg_locks.
_LOCK_KEY = int.from_bytes(b"blog-api", "big") & 0x7FFF_FFFF_FFFF_FFFF
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_NO_TRANSACTION = "-- transaction: no"
_LOCK_POLL_SECONDS = 0.1

_INVALID_INDEXES = """
SELECT i.indexrelid::regclass::text
FROM pg_index AS i
JOIN pg_class AS c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relnamespace = current_schema()::regnamespace
ORDER BY 1
"""

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """The migrations on disk and in the database do not fit together."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str
    transaction: bool

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class MigrationStatus:
    applied: list[AppliedMigration]
    pending: list[Migration]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match[1])
        if version in migrations:
            raise MigrationError(
                f"{path.name}: version {version} is also used by {migrations[version].file_name}"
            )
        data = path.read_bytes()
        sql = data.decode("utf-8")
        transaction = not sql.startswith(_NO_TRANSACTION)
        migrations[version] = Migration(
            version=version,
            name=match[2],
            path=path,
            sql=sql,
            checksum=hashlib.sha256(data).hexdigest(),
            transaction=transaction,
        )
    return [migrations[v] for v in sorted(migrations)]


async def _status(conn: asyncpg.Connection, migrations: list[Migration]) -> MigrationStatus:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    rows = (
        await conn.fetch(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
        )
        if exists
        else []
    )
    applied = [AppliedMigration(**dict(row)) for row in rows]
    on_disk = {m.version: m for m in migrations}
    for done in applied:
        migration = on_disk.get(done.version)
        if migration is None:
            raise MigrationError(
                f"migration {done.version:04d}_{done.name} is applied but its file is missing"
            )
        if migration.checksum != done.checksum:
            raise MigrationError(
                f"{migration.file_name} changed after it was applied; "
                "add a new migration instead of editing an applied one"
            )
    applied_versions = {done.version for done in applied}
    pending = [m for m in migrations if m.version not in applied_versions]
    return MigrationStatus(applied=applied, pending=pending)


async def _run_outside_transaction(conn: asyncpg.Connection, migration: Migration) -> None:
    failure: asyncpg.PostgresError | None = None
    try:
        await conn.execute(migration.sql)
    except asyncpg.PostgresError as exc:
        failure = exc
    invalid = [row[0] for row in await conn.fetch(_INVALID_INDEXES)]
    if failure is None and not invalid:
        return
    problem = f"{migration.file_name} failed: {failure}" if failure else migration.file_name
    if invalid:
        problem += (
            f"; it left invalid indexes ({', '.join(invalid)}): drop them "
            "(DROP INDEX CONCURRENTLY) and migrate again"
        )
    raise MigrationError(problem) from failure


async def _record(conn: asyncpg.Connection, migration: Migration) -> None:
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
        migration.version,
        migration.name,
        migration.checksum,
    )


async def status(url: str, directory: Path = MIGRATIONS_DIR) -> MigrationStatus:
    migrations = load_migrations(directory)
    conn = await connect_to_primary(url)
    try:
        return await _status(conn, migrations)
    finally:
        await conn.close()


async def migrate(
    url: str,
    directory: Path = MIGRATIONS_DIR,
    *,
    lock_timeout: float = 10.0,
    search_config: str | None = None,
) -> list[Migration]:
    """Apply every pending migration; return the ones applied by this call."""
    migrations = load_migrations(directory)
    conn = await connect_to_primary(url, server_settings=session_settings(search_config))
    try:
        # Polled, not waited for inside one statement: a waiting statement keeps a snapshot
        # open, which a CREATE INDEX CONCURRENTLY in the run holding the lock would wait for:
        # a deadlock.
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):  # noqa: ASYNC110
            await asyncio.sleep(_LOCK_POLL_SECONDS)
        # A migration waiting for a lock on a busy table would queue every query behind it;
        # give up instead. Statements themselves may take long (an index built concurrently).
        await conn.execute(
            f"SET lock_timeout = {int(lock_timeout * 1000)}; SET statement_timeout = 0"
        )
        try:
            await conn.execute(_CREATE_TABLE)
            pending = (await _status(conn, migrations)).pending
            for migration in pending:
                if migration.transaction:
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await _record(conn, migration)
                else:
                    await _run_outside_transaction(conn, migration)
                    await _record(conn, migration)
            return pending
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
