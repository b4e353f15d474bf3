import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli.main import main
from service.db.migrations import load_migrations
from service.testing.databases import ScratchDatabase
from tests.support.project import PROJECT_ROOT

pytestmark = pytest.mark.anyio


def _run(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_migrate_and_status(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database(migrated=False)
    names = [migration.file_name for migration in load_migrations()]
    assert names[0] == "0001_users_and_blogs.sql"
    before = _run("migrate", "--status", database_url=url)
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines() == [f"pending  {name}" for name in names]

    applied = _run("migrate", database_url=url)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines() == [f"applied {name}" for name in names]

    again = _run("migrate", database_url=url)
    assert again.stdout.strip() == "migrations: up to date"

    after = _run("migrate", "--status", database_url=url)
    assert [line.split()[:2] for line in after.stdout.splitlines()] == [
        ["applied", name] for name in names
    ]


def test_an_unreachable_database_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the database:")
    assert len(err.strip().splitlines()) == 1


def test_bad_settings_are_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "zero")
    assert main(["migrate", "--status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad settings: DB_POOL_MAX_SIZE")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("workers", ["lots", "0", "2.5"])
def test_a_bad_workers_value_is_told_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    monkeypatch.setenv("WORKERS", workers)
    assert main(["migrate", "--status"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: bad settings: WORKERS: must be a whole number, 1 or more, or auto (one per CPU "
        f"core); got '{workers}'"
    )


def test_a_database_url_with_a_bad_port_is_told_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:abc/test")
    assert main(["migrate", "--status"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: bad settings: DATABASE_URL: the port of '127.0.0.1:abc' must be a number from 1 "
        "to 65535"
    )


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "migrate"):
        assert command in out


def test_serve_refuses_a_weak_token_secret_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKEN_SECRET", "changeme")
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad settings: TOKEN_SECRET")
    assert "make one with" in err and "secrets.token_urlsafe(32)" in err
    assert len(err.strip().splitlines()) == 1


def test_a_pooler_without_a_direct_url_is_refused_for_migrations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:6432/app")
    monkeypatch.setenv("DB_POOLER", "pgbouncer")
    monkeypatch.delenv("DATABASE_DIRECT_URL", raising=False)
    assert main(["migrate"]) == 1
    assert capsys.readouterr().err.startswith("error: DB_POOLER=pgbouncer: set DATABASE_DIRECT_URL")


def test_a_command_on_the_embedded_server_prints_no_stray_warning(tmp_path: Path) -> None:
    # Without XDG_RUNTIME_DIR (containers, cron, su) platformdirs warned on every command that
    # started the embedded server, from pgserver's import.
    unset = {"DATABASE_URL", "XDG_RUNTIME_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-m", "service", "migrate", "--status"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pending  0001_")
    assert "Warning" not in result.stderr, result.stderr
