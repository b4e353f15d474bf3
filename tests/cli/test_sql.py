"""`python -m service sql ...` through its entry point: output formats, exit codes, errors."""

import csv
import io
import json
import os
import subprocess
import sys

import anyio
import asyncpg
import pytest

from service.cli import sql as sql_cli
from service.cli.main import main
from service.db import maintenance
from service.db.queries import load_all
from service.db.tables import metadata
from service.testing.databases import ScratchDatabase, connect
from tests.support.project import OUR_INDEXES, PROJECT_ROOT

pytestmark = pytest.mark.anyio

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"
OUR_TABLES = set(metadata.tables)


async def cli(*argv: str) -> int:
    """main() in a worker thread: it runs its own event loop, as it does from the shell."""
    return await anyio.to_thread.run_sync(main, list(argv))


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)


@pytest.fixture
async def database(scratch_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch) -> str:
    url = await scratch_database()
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_list_shows_every_script_with_its_flags(
    no_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "read_only", "live", "transaction", "params", "purpose"]
    lines = {line.split()[0]: line for line in out[2:]}
    assert set(lines) == set(maintenance.load_all())
    assert lines["reindex"].split()[1:6] == ["no", "yes", "no", "index=all", "(index)"]
    assert "Rebuild one of our indexes" in lines["reindex"]
    assert "limit=20 min_calls=1" in lines["slow_statements"]


def test_list_as_json(no_database: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "list", "--format", "json"]) == 0
    [listing] = json.loads(capsys.readouterr().out)
    data_fix = next(row for row in listing["rows"] if row["name"] == "data_fix")
    assert data_fix["read_only"] is False
    assert data_fix["transaction"] is True


def test_python_m_service_sql_list_in_a_real_process() -> None:
    env = {**os.environ, "DATABASE_URL": UNREACHABLE}
    done = subprocess.run(
        [sys.executable, "-m", "service", "sql", "list"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "vacuum_analyze" in done.stdout
    assert done.stderr == ""


def test_show_prints_the_sql_plain_when_not_on_a_terminal(
    no_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "show", "reindex"]) == 0
    out = capsys.readouterr().out
    assert out == (PROJECT_ROOT / "sql" / "maintenance" / "reindex.sql").read_text()
    assert "\x1b[" in sql_cli.colored(out)


def test_unknown_script_is_one_error_line(
    no_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "run", "nope"]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err).startswith("error: no maintenance script 'nope'")
    assert captured.out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "table_stats", "--param", "limit"], "error: --param takes key=value, not 'limit'"),
        (
            ["run", "table_stats", "--param", "limit=3"],
            "error: script table_stats has no parameter 'limit' (it takes: no parameters)",
        ),
        (["run", "reindex", "--dry-run"], "error: reindex runs outside a transaction"),
        (
            ["explain", "nope"],
            f"error: no query 'nope' (there are: {', '.join(sorted(load_all()))}",
        ),
    ],
)
def test_mistakes_found_before_connecting(
    no_database: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["sql", *argv]) == 1
    assert one_error_line(capsys.readouterr().err).startswith(message)


def test_unreachable_database_is_one_error_line(
    no_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sql", "run", "table_stats"]) == 1
    captured = capsys.readouterr()
    assert one_error_line(captured.err).startswith("error: cannot reach the database: ")
    assert captured.out == ""


def test_a_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sql", "run", "activity", "--lock-timeout", "soon"])
    assert exit_.value.code == 2
    assert "'soon' is not a duration like 500ms, 60s or 5min" in capsys.readouterr().err


async def test_run_prints_aligned_tables(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("sql", "run", "table_stats") == 0
    out = capsys.readouterr().out
    tables, indexes = out.split("\n\n")
    lines = tables.splitlines()
    count = len(OUR_TABLES)
    assert lines[0].startswith(f"-- Tables, largest first: SELECT {count} (")
    assert lines[1].split()[:3] == ["table", "total_size", "table_size"]
    assert set(lines[2]) == {"-", " "}
    assert {line.split()[0] for line in lines[3 : 3 + count]} == OUR_TABLES
    assert lines[3 + count] == f"({count} rows)"
    # Every row is as wide as the dashes under the header: the columns line up.
    assert lines[1].index("total_size") == lines[3].index(lines[3].split()[1])
    assert indexes.splitlines()[-1] == f"({len(OUR_INDEXES)} rows)"


async def test_run_as_json_and_csv(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Migrating scanned some indexes (the search backfill walks pk_blogs): start afresh.
    async with connect(database) as conn:
        await conn.execute("SELECT pg_stat_reset()")
    assert await cli("sql", "run", "index_usage", "--format", "json") == 0
    unused, duplicates, scans = json.loads(capsys.readouterr().out)
    assert unused["statement"] == "Unused indexes: never scanned"
    assert {row["index"] for row in unused["rows"]} >= {"ix_blogs_created_at_id", "pk_blogs"}
    assert duplicates["rows"] == []
    assert {row["table"] for row in scans["rows"]} == OUR_TABLES

    assert await cli("sql", "run", "index_usage", "--format", "csv") == 0
    sections = capsys.readouterr().out.split("\r\n\r\n")
    assert len(sections) == 3
    scan_rows = list(csv.DictReader(io.StringIO(sections[2])))
    assert {row["table"] for row in scan_rows} == OUR_TABLES
    assert set(scan_rows[0]) >= {"seq_scan", "idx_scan", "idx_scan_pct"}


async def test_dry_run_of_the_data_fix_rolls_back(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "INSERT INTO users (id, name, email, password_hash) VALUES (1, ' Ada ', 'A@x.io', 'x')"
        )
        assert await cli("sql", "run", "data_fix", "--dry-run") == 0
        captured = capsys.readouterr()
        assert "-- Trim user names: UPDATE 1" in captured.out
        assert "' Ada '  'Ada'" in captured.out
        assert "dry run: rolled back, nothing was changed" in captured.err
        assert await conn.fetchval("SELECT name FROM users WHERE id = 1") == " Ada "

        assert await cli("sql", "run", "data_fix") == 0
        assert "dry run" not in capsys.readouterr().err
        assert await conn.fetchval("SELECT name FROM users WHERE id = 1") == "Ada"
    finally:
        await conn.close()


async def test_reindex_reports_each_index_on_stderr_as_it_goes(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("sql", "run", "reindex", "--param", "index=pk_users") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("-- Rebuild [public.pk_users]: REINDEX (")
    assert captured.err.startswith("Rebuild [public.pk_users]: REINDEX in ")


async def test_a_bad_identifier_is_one_error_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("sql", "run", "vacuum_analyze", "--param", 'table=users"; --') == 1
    assert one_error_line(capsys.readouterr().err) == (
        "error: parameter table: 'users\"; --' is not one of our tables "
        f"(choose from: all, {', '.join(sorted(OUR_TABLES))})"
    )


async def test_long_runs_report_their_time_on_stderr(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_cli, "ELAPSED_AFTER", 0.0)
    assert await cli("sql", "run", "activity") == 0
    assert capsys.readouterr().err.startswith("activity: took ")


async def test_explain_prints_the_plan(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sql", "explain", "blogs_page", "--param", "before_created_at=infinity"]
    argv += ["--param", "before_id=10", "--param", "limit=5", "--analyze"]
    argv += ["--param", "reader_id=0", "--param", "reader_version=0"]
    assert await cli(*argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Limit  (cost=")
    assert "Execution Time:" in out


async def test_explain_with_a_bad_value_is_one_error_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sql", "explain", "users_page", "--param", "after_id=first", "--param", "limit=5"]
    argv += ["--param", "reader_id=0", "--param", "reader_version=0"]
    assert await cli(*argv) == 1
    assert one_error_line(capsys.readouterr().err) == (
        'error: parameter after_id: invalid input syntax for type bigint: "first"'
    )


async def test_a_failing_statement_is_one_error_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            "INSERT INTO users (id, name, email, password_hash) VALUES (1, ' Ada', 'a@x.io', 'x')"
        )
        async with conn.transaction():
            await conn.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            argv = ["sql", "run", "data_fix", "--lock-timeout", "100ms"]
            assert await cli(*argv) == 1
    finally:
        await conn.close()
    assert one_error_line(capsys.readouterr().err) == (
        "error: data_fix: Trim user names: canceling statement due to lock timeout"
    )
