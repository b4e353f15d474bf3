import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from service.db import migrations
from service.db.migrations import MIGRATIONS_DIR, MigrationError, load_migrations
from service.testing.databases import ScratchDatabase, connect, fetch

pytestmark = pytest.mark.anyio


def _copy_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


async def _versions(url: str) -> list[int]:
    rows = await fetch(url, "SELECT version FROM schema_migrations ORDER BY 1")
    return [row["version"] for row in rows]


async def test_migrate_applies_every_file_once_in_order(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_add_pronouns.sql").write_text(
        "ALTER TABLE users ADD COLUMN pronouns text;\n"
    )

    on_disk = load_migrations(directory)
    assert on_disk[-1].file_name == "9001_add_pronouns.sql"

    applied = await migrations.migrate(url, directory)
    assert applied == on_disk
    assert await migrations.migrate(url, directory) == []

    rows = await fetch(url, "SELECT version, name, checksum FROM schema_migrations ORDER BY 1")
    assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
        (m.version, m.name, m.checksum) for m in on_disk
    ]


async def test_status_lists_applied_and_pending(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    shipped = [m.version for m in load_migrations(directory)]
    before = await migrations.status(url, directory)
    assert before.applied == []
    assert [m.version for m in before.pending] == shipped

    await migrations.migrate(url, directory)
    (directory / "9001_later.sql").write_text("SELECT 1;\n")
    after = await migrations.status(url, directory)
    assert [m.version for m in after.applied] == shipped
    assert [m.version for m in after.pending] == [9001]


async def test_two_concurrent_runs_apply_nothing_twice(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    # Slow enough that the two runs overlap; without the lock the second would fail or repeat it.
    (directory / "9001_slow.sql").write_text(
        "SELECT pg_sleep(0.5);\nCREATE TABLE applied_once (n int);\n"
        "INSERT INTO applied_once VALUES (1);\n"
    )
    first, second = await asyncio.gather(
        migrations.migrate(url, directory), migrations.migrate(url, directory)
    )
    assert sorted([len(first), len(second)]) == [0, len(load_migrations(directory))]
    assert [r["n"] for r in await fetch(url, "SELECT n FROM applied_once")] == [1]


async def test_a_changed_applied_migration_is_refused(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    await migrations.migrate(url, directory)
    path = directory / "0001_users_and_blogs.sql"
    path.write_text(path.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=r"0001_users_and_blogs\.sql changed after it was"):
        await migrations.migrate(url, directory)
    with pytest.raises(MigrationError, match=r"0001_users_and_blogs\.sql"):
        await migrations.status(url, directory)


async def test_a_failing_migration_leaves_nothing_behind(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_broken.sql").write_text(
        "CREATE TABLE half_done (n int);\nSELECT * FROM no_such_table;\n"
    )
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrations.migrate(url, directory)
    assert await _versions(url) == [m.version for m in load_migrations(MIGRATIONS_DIR)]
    assert (await fetch(url, "SELECT to_regclass('half_done') AS t"))[0]["t"] is None


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_first.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"1_first\.sql: migration files are named"):
        load_migrations(tmp_path)


def test_a_version_used_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"version 1 is also used by 0001_a\.sql"):
        load_migrations(tmp_path)


async def test_an_applied_migration_without_its_file_is_refused(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_gone.sql").write_text("SELECT 1;\n")
    await migrations.migrate(url, directory)
    (directory / "9001_gone.sql").unlink()
    with pytest.raises(MigrationError, match="9001_gone is applied but its file is missing"):
        await migrations.migrate(url, directory)


# --- migrations that run outside a transaction -----------------------------------------------


async def _index(url: str, name: str) -> asyncpg.Record | None:
    rows = await fetch(
        url,
        "SELECT i.indisvalid, i.indisready FROM pg_index AS i WHERE i.indexrelid = to_regclass($1)",
        name,
    )
    return rows[0] if rows else None


def test_the_transaction_header_is_read_from_the_first_line(tmp_path: Path) -> None:
    (tmp_path / "0001_in.sql").write_text("CREATE TABLE a (n int);\n")
    (tmp_path / "0002_out.sql").write_text(
        "-- transaction: no\nCREATE INDEX CONCURRENTLY ix_a_n ON a (n);\n"
    )
    # Only on the first line: a comment further down is just a comment.
    (tmp_path / "0003_later.sql").write_text(
        "-- Adds b.\n-- transaction: no\nCREATE TABLE b (n int);\n"
    )
    loaded = load_migrations(tmp_path)
    assert [(m.file_name, m.transaction) for m in loaded] == [
        ("0001_in.sql", True),
        ("0002_out.sql", False),
        ("0003_later.sql", True),
    ]
    assert all(not m.transaction for m in load_migrations() if "concurrently" in m.sql.lower())


async def test_an_index_built_concurrently_is_applied_and_recorded(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_users_name_index.sql").write_text(
        "-- transaction: no\n-- Built without blocking writes.\n"
        "CREATE INDEX CONCURRENTLY ix_users_name ON users (name);\n"
    )
    [added] = [m for m in load_migrations(directory) if m.version == 9001]
    assert added.transaction is False

    applied = await migrations.migrate(url, directory)
    assert applied[-1] == added
    index = await _index(url, "ix_users_name")
    assert index is not None
    assert index["indisvalid"] and index["indisready"]
    rows = await fetch(url, "SELECT name, checksum FROM schema_migrations WHERE version = 9001")
    assert [(r["name"], r["checksum"]) for r in rows] == [("users_name_index", added.checksum)]
    assert await migrations.migrate(url, directory) == []


async def test_a_statement_that_commits_by_itself_runs_outside_a_transaction(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    # One statement that commits as it goes (a batched backfill, like 0007): only possible
    # outside a transaction block.
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_numbers.sql").write_text("CREATE TABLE numbers (n int);\n")
    (directory / "9002_fill_numbers.sql").write_text(
        "-- transaction: no\n"
        "DO $$\nBEGIN\n"
        "    FOR i IN 1..3 LOOP\n"
        "        INSERT INTO numbers VALUES (i);\n"
        "        COMMIT;\n"
        "    END LOOP;\n"
        "END\n$$;\n"
    )
    await migrations.migrate(url, directory)
    assert [r["n"] for r in await fetch(url, "SELECT n FROM numbers ORDER BY n")] == [1, 2, 3]
    assert (await _versions(url))[-2:] == [9001, 9002]


async def test_two_statements_outside_a_transaction_are_refused(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    # Sent at once, PostgreSQL runs them as one transaction block, where it refuses to build
    # an index concurrently: nothing is applied and nothing recorded.
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_two_at_once.sql").write_text(
        "-- transaction: no\n"
        "CREATE TABLE two_at_once (n int);\n"
        "CREATE INDEX CONCURRENTLY ix_two_at_once_n ON two_at_once (n);\n"
    )
    with pytest.raises(MigrationError, match=r"9001_two_at_once\.sql"):
        await migrations.migrate(url, directory)
    assert 9001 not in await _versions(url)
    assert (await fetch(url, "SELECT to_regclass('two_at_once') AS t"))[0]["t"] is None
    assert await _index(url, "ix_two_at_once_n") is None


async def test_a_failed_concurrent_build_is_not_recorded_and_names_the_invalid_index(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_dupes.sql").write_text(
        "CREATE TABLE dupes (n int);\nINSERT INTO dupes VALUES (1), (1);\n"
    )
    (directory / "9002_unique_dupes.sql").write_text(
        "-- transaction: no\nCREATE UNIQUE INDEX CONCURRENTLY ix_dupes_n ON dupes (n);\n"
    )
    with pytest.raises(MigrationError, match=r"9002_unique_dupes\.sql") as failed:
        await migrations.migrate(url, directory)
    message = str(failed.value)
    assert "ix_dupes_n" in message
    assert "DROP INDEX CONCURRENTLY" in message
    assert isinstance(failed.value.__cause__, asyncpg.UniqueViolationError)
    # The migration before it was applied; the failed one is not recorded, and its index is
    # left INVALID for the operator to drop.
    versions = await _versions(url)
    assert 9001 in versions
    assert 9002 not in versions
    index = await _index(url, "ix_dupes_n")
    assert index is not None
    assert not index["indisvalid"]

    # Every run refuses to go on while the invalid index is there ...
    with pytest.raises(MigrationError, match="ix_dupes_n"):
        await migrations.migrate(url, directory)
    assert 9002 not in await _versions(url)
    # ... and once it is dropped and the data fixed, the migration applies.
    async with connect(url) as conn:
        await conn.execute("DROP INDEX CONCURRENTLY ix_dupes_n")
        await conn.execute("DELETE FROM dupes WHERE ctid <> (SELECT min(ctid) FROM dupes)")
    assert [m.version for m in await migrations.migrate(url, directory)] == [9002]
    index = await _index(url, "ix_dupes_n")
    assert index is not None
    assert index["indisvalid"]
