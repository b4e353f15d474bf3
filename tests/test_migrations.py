import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from service.db import migrations
from service.db.migrations import MIGRATIONS_DIR, MigrationError, load_migrations
from tests.conftest import ScratchDatabase

pytestmark = pytest.mark.anyio


def _copy_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_migrate_applies_every_file_once_in_order(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database(migrated=False)
    directory = _copy_migrations(tmp_path)
    (directory / "9001_add_bio.sql").write_text("ALTER TABLE users ADD COLUMN bio text;\n")

    on_disk = load_migrations(directory)
    assert on_disk[-1].file_name == "9001_add_bio.sql"

    applied = await migrations.migrate(url, directory)
    assert applied == on_disk
    assert await migrations.migrate(url, directory) == []

    rows = await _fetch(url, "SELECT version, name, checksum FROM schema_migrations ORDER BY 1")
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
    assert [r["n"] for r in await _fetch(url, "SELECT n FROM applied_once")] == [1]


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
    rows = await _fetch(url, "SELECT version FROM schema_migrations ORDER BY 1")
    assert [r["version"] for r in rows] == [m.version for m in load_migrations(MIGRATIONS_DIR)]
    assert (await _fetch(url, "SELECT to_regclass('half_done') AS t"))[0]["t"] is None


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
