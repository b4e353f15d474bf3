"""The maintenance scripts, each run against a real database and its output checked."""

import asyncio
import time
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from pydantic import TypeAdapter

from service.db import maintenance, queries
from service.db.maintenance import MaintenanceError, Result
from service.db.tables import metadata
from service.models import Email, Name, Title
from service.testing.databases import ScratchDatabase, connect
from tests.support.project import OUR_INDEXES
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

EXPECTED_SCRIPTS = {
    "activity",
    "bloat",
    "counters_repair",
    "data_check",
    "data_fix",
    "index_usage",
    "reindex",
    "slow_statements",
    "table_stats",
    "vacuum_analyze",
}

# Every table and index of the migrated schema, schema_migrations aside.
OUR_TABLES = sorted(metadata.tables)

HEADER = "-- purpose: p\n-- read-only: yes\n-- live: yes\n-- transaction: yes\n"


def rows(result: Result) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def by_statement(results: list[Result]) -> dict[str, list[dict[str, Any]]]:
    return {result.statement: rows(result) for result in results}


async def run(url: str, name: str, **params: str) -> list[Result]:
    return await maintenance.run(url=url, script=maintenance.load(name), params=params)


async def add_users(conn: asyncpg.Connection, count: int, *, start: int = 1) -> None:
    await conn.execute(
        "INSERT INTO users (id, name, email, password_hash) "
        "SELECT i, 'user ' || i, 'user' || i || '@example.com', 'x' "
        "FROM generate_series($1::bigint, $2::bigint) AS i",
        start,
        start + count - 1,
    )


# Loading and parsing


def test_every_script_loads_with_its_header() -> None:
    scripts = maintenance.load_all()
    assert set(scripts) == EXPECTED_SCRIPTS
    for script in scripts.values():
        assert script.purpose and script.statements
        assert script.live
    outside = {name for name, s in scripts.items() if not s.transaction}
    assert outside == {"reindex", "vacuum_analyze"}
    writing = {name for name, s in scripts.items() if not s.read_only}
    assert writing == {"counters_repair", "data_fix", "reindex", "vacuum_analyze"}
    assert scripts["slow_statements"].requires == "pg_stat_statements"
    assert [(p.name, p.kind, p.default) for p in scripts["reindex"].params] == [
        ("index", "index", "all")
    ]


def test_statements_split_at_a_semicolon_ending_a_line() -> None:
    script = maintenance.parse(
        name="two",
        text=HEADER
        + "-- param: n = 3  -- how many\n"
        + "--\n-- notes\n\n-- First one\n-- more words\nSELECT ';' AS a; SELECT 2\n;\n"
        + "SELECT :'n'::int AS n, :'our_tables'::text[] AS t;\n",
    )
    assert [s.label for s in script.statements] == [
        "First one",
        "SELECT :'n'::int AS n, :'our_tables'::text[] AS t",
    ]
    assert script.statements[0].sql == "SELECT ';' AS a; SELECT 2"
    assert script.statements[1].values == ("n", "our_tables")
    assert script.params == (
        maintenance.Param(name="n", kind="value", default="3", doc="how many"),
    )


def test_references_are_read_as_the_named_queries_read_them() -> None:
    # The scanner of service.db.sql_params: a cast, a string or a comment holds no reference.
    script = maintenance.parse(
        name="one",
        text=HEADER
        + "-- param: n = 3  -- how many\n"
        + "SELECT ':''x' AS s, :'n'::int::text AS n, now()::date -- :'m'\n;\n",
    )
    assert script.statements[0].values == ("n",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- read-only: yes\n-- live: yes\n-- transaction: yes\nSELECT 1;", "lacks '-- purpose:'"),
        (HEADER + "-- color: red\nSELECT 1;", "unknown header '-- color:'"),
        (HEADER.replace("live: yes", "live: maybe") + "SELECT 1;", "must be yes or no"),
        (HEADER + "-- nothing here\n", "no statement"),
        (HEADER + "SELECT :'x';", ":'x' is not a declared value parameter"),
        (HEADER + "-- param: x = 1\nSELECT 1;", "x is declared but not used"),
        (HEADER + "-- param: x = 1\nSELECT :x;", "write :x as psql would bind it: :'x'"),
        (HEADER + "SELECT $1::int;", r"\$1 is never bound"),
        (HEADER + "-- param: x = 1\nSELECT ':''x' /* :'x' */;", "x is declared but not used"),
        (HEADER + '-- param: x = 1\nSELECT :"x";', ':"x" is not a declared table or index'),
        (HEADER + "-- param: t table = all\nSELECT :'t';", ":'t' is not a declared value"),
        (
            HEADER.replace("transaction: yes", "transaction: no")
            + "-- param: n = 1\nVACUUM (ANALYZE) users WHERE :'n';",
            "cannot bind :'n'",
        ),
    ],
)
def test_malformed_scripts_are_refused(text: str, message: str) -> None:
    with pytest.raises(MaintenanceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        maintenance.parse(name="bad", text=text)


def test_unknown_script_names_the_known_ones() -> None:
    with pytest.raises(MaintenanceError, match=r"no maintenance script 'nope' \(there are: act"):
        maintenance.load("nope")
    with pytest.raises(MaintenanceError, match="no maintenance script"):
        maintenance.load("../sql/queries/users_page")


def test_parameters_are_checked_before_connecting() -> None:
    reindex = maintenance.load("reindex")
    assert maintenance.parse_assignments(["a=1", "b=x=y", "c="], nulls=["d"]) == {
        "a": "1",
        "b": "x=y",
        "c": "",
        "d": None,
    }
    with pytest.raises(MaintenanceError, match="--param takes key=value, not 'a'"):
        maintenance.parse_assignments(["a"])
    with pytest.raises(MaintenanceError, match="parameter a is given twice"):
        maintenance.parse_assignments(["a=1"], nulls=["a"])
    with pytest.raises(MaintenanceError, match="has no parameter 'table'"):
        maintenance.resolve(reindex, {"table": "users"})
    with pytest.raises(MaintenanceError, match="cannot be NULL"):
        maintenance.resolve(reindex, {"index": None})
    with pytest.raises(MaintenanceError, match="has no dry run"):
        maintenance.resolve(reindex, {}, dry_run=True)
    assert maintenance.resolve(reindex, {}) == {"index": "all"}


# Statistics and reports


async def test_table_stats_shows_dead_rows_and_vacuum_clears_them(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute("ALTER TABLE users SET (autovacuum_enabled = false)")
        await add_users(conn, 300)
        await conn.execute("DELETE FROM users WHERE id > 100")
        await conn.execute("SELECT pg_stat_force_next_flush()")

    tables, indexes = await run(url, "table_stats")
    users = {row["table"]: row for row in rows(tables)}["users"]
    assert users["live_rows"] == 100
    assert users["dead_rows"] == 200
    assert users["dead_pct"] == Decimal("66.7")
    assert users["last_vacuum"] is None
    assert {row["index"] for row in rows(indexes)} == OUR_INDEXES

    [vacuum] = await run(url, "vacuum_analyze", table="users")
    assert vacuum.status == "VACUUM"
    assert vacuum.statement.endswith("[public.users]")

    tables, _ = await run(url, "table_stats")
    users = {row["table"]: row for row in rows(tables)}["users"]
    assert users["dead_rows"] == 0
    assert users["row_estimate"] == 100
    assert users["last_vacuum"] is not None
    assert users["last_analyze"] is not None


async def test_vacuum_analyze_runs_on_every_table_of_ours_outside_a_transaction(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    results = await run(url, "vacuum_analyze")
    assert [(r.statement, r.status) for r in results] == [
        (f"Vacuum and analyze [public.{table}]", "VACUUM") for table in OUR_TABLES
    ]
    with pytest.raises(MaintenanceError, match="'schema_migrations' is not one of our tables"):
        await run(url, "vacuum_analyze", table="schema_migrations")


async def test_index_usage_finds_unused_duplicate_and_redundant_indexes(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        # Migrating scanned some indexes (the search backfill walks pk_blogs): start afresh.
        await conn.execute("SELECT pg_stat_reset()")
        await add_users(conn, 50)
        await conn.execute("CREATE INDEX ix_users_created_at ON users (created_at)")
        await conn.execute("CREATE INDEX ix_blogs_newest ON blogs (created_at DESC, id DESC)")
        await conn.execute("CREATE INDEX ix_blogs_user_id ON blogs (user_id)")
        await conn.execute("SET enable_seqscan = off")
        await conn.fetch("SELECT * FROM users WHERE id = 7")
        await conn.execute("SET enable_seqscan = on")
        await conn.execute("SET enable_indexscan = off")
        await conn.execute("SET enable_indexonlyscan = off")
        await conn.execute("SET enable_bitmapscan = off")
        await conn.fetch("SELECT count(*) FROM users")
        await conn.execute("SELECT pg_stat_force_next_flush()")

    unused, duplicates, scans = await run(url, "index_usage")
    advice = {row["index"]: row["advice"] for row in rows(unused)}
    assert advice["ix_users_created_at"] == "candidate to drop"
    assert advice["uq_users_email_lower"] == "keep: enforces uniqueness"
    assert advice["pk_blogs"] == "keep: primary key"
    assert advice["ix_blogs_user_id"].startswith("check first: leads with a foreign key")
    assert "pk_users" not in advice  # it was scanned

    assert {(r["index"], r["covered_by"], r["kind"]) for r in rows(duplicates)} == {
        ("ix_blogs_newest", "ix_blogs_created_at_id", "duplicate"),
        ("ix_blogs_user_id", "ix_blogs_user_id_created_at_id", "prefix of covered_by"),
    }

    per_table = {row["table"]: row for row in rows(scans)}
    assert per_table["users"]["seq_scan"] >= 1
    assert per_table["users"]["idx_scan"] >= 1
    assert per_table["blogs"]["idx_scan"] == 0


async def test_bloat_estimates_the_space_a_mass_delete_leaves(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute("ALTER TABLE users SET (autovacuum_enabled = false)")
        await add_users(conn, 5000)
        await conn.execute("ANALYZE users")
    tables, indexes = await run(url, "bloat")
    assert {r["table"]: r["bloat_pct"] for r in rows(tables)}["users"] < 10
    assert {r["index"]: r["bloat_pct"] for r in rows(indexes)}["pk_users"] < 10
    assert {r["table"]: r["note"] for r in rows(tables)}["blogs"] == "no statistics: run ANALYZE"

    async with connect(url) as conn:
        await conn.execute("DELETE FROM users WHERE id % 10 <> 0")
        await conn.execute("ANALYZE users")
    tables, indexes = await run(url, "bloat")
    users = {r["table"]: r for r in rows(tables)}["users"]
    assert users["row_estimate"] == 500
    assert users["bloat_pct"] > 80
    assert {r["index"]: r["bloat_pct"] for r in rows(indexes)}["pk_users"] > 70

    await run(url, "reindex", index="pk_users")
    _, indexes = await run(url, "bloat")
    assert {r["index"]: r["bloat_pct"] for r in rows(indexes)}["pk_users"] < 10


async def test_slow_statements_without_the_extension_is_one_message_row(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    [result] = await run(url, "slow_statements")
    assert result.status == "SKIPPED"
    assert result.columns == ("message",)
    assert "pg_stat_statements is not installed in this database" in result.rows[0][0]


async def test_slow_statements_with_the_extension_created(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements')"
        ):
            pytest.skip("this PostgreSQL does not ship pg_stat_statements")
        await conn.execute("CREATE EXTENSION pg_stat_statements")
        loaded = "pg_stat_statements" in await conn.fetchval("SHOW shared_preload_libraries")
        for _ in range(3):
            await conn.fetch("SELECT count(*) FROM users WHERE name = $1", "slow statements")
    [result] = await run(url, "slow_statements", min_calls="3")
    if loaded:
        assert any("FROM users WHERE name = $1" in row["query"] for row in rows(result))
        assert all(row["calls"] >= 3 for row in rows(result))
    else:
        assert result.status == "SKIPPED"
        assert "must be loaded via shared_preload_libraries" in result.rows[0][0]


async def test_activity_shows_a_blocked_query_and_its_blocker(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as holder, connect(url) as waiter, connect(url) as watcher:
        await add_users(holder, 1)
        holder_pid, waiter_pid = holder.get_server_pid(), waiter.get_server_pid()
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("UPDATE users SET name = 'held by the holder' WHERE id = 1")
        blocked = asyncio.ensure_future(
            waiter.execute("UPDATE users SET name = 'waiting' WHERE id = 1")
        )
        try:

            async def waiting() -> bool:
                return await watcher.fetchval(
                    "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                    waiter_pid,
                )

            await eventually(waiting, within=5, what="the waiter to wait on the holder's lock")
            sessions, blocking = await run(url, "activity")
        finally:
            await transaction.rollback()
            await blocked

    by_pid = {row["pid"]: row for row in rows(sessions)}
    assert by_pid[waiter_pid]["blocked_by"] == [holder_pid]
    assert by_pid[waiter_pid]["waiting_on"].startswith("Lock: ")
    assert by_pid[holder_pid]["state"] == "idle in transaction"
    [pair] = rows(blocking)
    assert pair["blocked_pid"] == waiter_pid
    assert pair["blocked_query"] == "UPDATE users SET name = 'waiting' WHERE id = 1"
    assert pair["blocking_pid"] == holder_pid
    assert pair["blocking_state"] == "idle in transaction"
    assert "held by the holder" in pair["blocking_last_query"]


async def test_a_lock_held_elsewhere_times_out_instead_of_hanging(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as holder:
        await holder.execute(
            "INSERT INTO users (id, name, email, password_hash) VALUES (1, ' Ada', 'a@x.io', 'x')"
        )
        async with holder.transaction():
            await holder.execute("SELECT * FROM users WHERE id = 1 FOR UPDATE")
            started = time.monotonic()
            with pytest.raises(MaintenanceError, match=r"Trim user names: .*lock timeout"):
                await maintenance.run(
                    url=url, script=maintenance.load("data_fix"), params={}, lock_timeout="200ms"
                )
            assert time.monotonic() - started < 5


async def test_statement_timeout_and_read_only_are_enforced(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    sleepy = maintenance.parse(name="sleepy", text=HEADER + "-- Nap\nSELECT pg_sleep(5);")
    with pytest.raises(MaintenanceError, match="sleepy: Nap: canceling statement due to statement"):
        await maintenance.run(url=url, script=sleepy, params={}, statement_timeout="100ms")
    writer = maintenance.parse(name="writer", text=HEADER + "DELETE FROM users;")
    with pytest.raises(MaintenanceError, match="cannot execute DELETE in a read-only transaction"):
        await maintenance.run(url=url, script=writer, params={})


# Rebuilding indexes


async def test_reindex_rebuilds_one_index_or_all_of_ours_concurrently(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    filenode = "SELECT pg_relation_filenode('ix_blogs_created_at_id')"
    async with connect(url) as conn:
        before = await conn.fetchval(filenode)
    [one] = await run(url, "reindex", index="ix_blogs_created_at_id")
    assert one.status == "REINDEX"
    assert one.statement == "Rebuild [public.ix_blogs_created_at_id]"
    async with connect(url) as conn:
        assert await conn.fetchval(filenode) != before

    every = await run(url, "reindex")
    assert [r.statement for r in every] == [
        f"Rebuild [public.{index}]" for index in sorted(OUR_INDEXES)
    ]
    assert {r.status for r in every} == {"REINDEX"}


async def test_reindex_takes_only_the_name_of_an_index_of_ours(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute("CREATE TABLE other (id int PRIMARY KEY)")
    for name in ('pk_users"; DROP TABLE users; --', "other_pkey", "PK_USERS", "public.pk_users"):
        with pytest.raises(MaintenanceError, match=r"is not one of our indexes \(choose from: all"):
            await run(url, "reindex", index=name)
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT to_regclass('users') IS NOT NULL")


async def test_reindex_has_no_dry_run(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    with pytest.raises(MaintenanceError, match="runs outside a transaction"):
        await maintenance.run(url=url, script=maintenance.load("reindex"), params={}, dry_run=True)


# The data check and fix

BAD_USERS = [
    (1, "  Ada ", "ADA@Example.com"),
    (2, "\tBob\u00a0", " bob@example.com"),
    (3, "\t", "carol@example.com "),
    (4, "Dan", "Carol@example.com"),
    (5, "Eve", "   "),
    (6, "Fay", "fay@example.com"),
]
BAD_BLOGS = [(1, 6, "  Hello\u3000"), (2, 6, "\u2003"), (3, 6, "Fine")]


async def seed_bad_rows(url: str) -> None:
    async with connect(url) as conn:
        await conn.executemany(
            "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, 'x')",
            BAD_USERS,
        )
        await conn.executemany(
            "INSERT INTO blogs (id, user_id, title, body) VALUES ($1, $2, $3, 'body')", BAD_BLOGS
        )


async def snapshot(url: str) -> list[tuple[Any, ...]]:
    async with connect(url) as conn:
        users = await conn.fetch("SELECT id, name, email FROM users ORDER BY id")
        blogs = await conn.fetch("SELECT id, title, updated_at FROM blogs ORDER BY id")
    return [tuple(r) for r in users] + [tuple(r) for r in blogs]


async def test_data_check_reports_rows_the_api_would_not_have_written(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    await seed_bad_rows(url)
    [result] = await run(url, "data_check")
    found = {(r["table"], r["id"], r["column"], r["problem"]) for r in rows(result)}
    assert found == {
        ("users", 1, "name", "not trimmed"),
        ("users", 1, "email", "not lower-case"),
        ("users", 2, "name", "not trimmed"),
        ("users", 2, "email", "not trimmed"),
        ("users", 3, "name", "not trimmed"),
        ("users", 3, "name", "empty once trimmed"),
        ("users", 3, "email", "not trimmed"),
        ("users", 3, "email", "trimmed and lower-cased it is the email of user 4"),
        ("users", 4, "email", "not lower-case"),
        ("users", 4, "email", "trimmed and lower-cased it is the email of user 3"),
        ("users", 5, "email", "not trimmed"),
        ("users", 5, "email", "not an email address"),
        ("blogs", 1, "title", "not trimmed"),
        ("blogs", 2, "title", "not trimmed"),
        ("blogs", 2, "title", "empty once trimmed"),
    }
    values = {(r["id"], r["column"], r["problem"]): r["value"] for r in rows(result)}
    assert values[(2, "name", "not trimmed")] == "'\tBob\u00a0'"


async def test_data_fix_dry_run_reports_each_statement_and_changes_nothing(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    await seed_bad_rows(url)
    before = await snapshot(url)
    results = await maintenance.run(
        url=url, script=maintenance.load("data_fix"), params={}, dry_run=True
    )
    assert [(r.statement, r.status) for r in results] == [
        ("Trim user names", "UPDATE 2"),
        ("Trim and lower-case emails that clash with no other user's", "UPDATE 2"),
        ("Trim blog titles", "UPDATE 1"),
        ("Skipped: left for a person", "SELECT 5"),
    ]
    names, emails, titles, _ = (sorted(rows(r), key=lambda row: row["id"]) for r in results)
    assert names == [
        {"id": 1, "old": "'  Ada '", "new": "'Ada'"},
        {"id": 2, "old": "'\tBob\u00a0'", "new": "'Bob'"},
    ]
    assert emails == [
        {"id": 1, "old": "'ADA@Example.com'", "new": "'ada@example.com'"},
        {"id": 2, "old": "' bob@example.com'", "new": "'bob@example.com'"},
    ]
    assert titles == [{"id": 1, "old": "'  Hello\u3000'", "new": "'Hello'"}]
    assert await snapshot(url) == before


async def test_data_fix_repairs_what_it_can_and_lists_the_rest(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    await seed_bad_rows(url)
    blog_times = {row[0]: row[2] for row in (await snapshot(url))[len(BAD_USERS) :]}
    *_, skipped = await run(url, "data_fix")
    assert [(r["table"], r["id"], r["column"], r["reason"]) for r in rows(skipped)] == [
        ("users", 3, "email", "trimmed and lower-cased it would clash with user 4"),
        ("users", 3, "name", "empty once trimmed"),
        ("users", 4, "email", "trimmed and lower-cased it would clash with user 3"),
        ("users", 5, "email", "empty once trimmed"),
        ("blogs", 2, "title", "empty once trimmed"),
    ]
    async with connect(url) as conn:
        users = {r["id"]: (r["name"], r["email"]) for r in await conn.fetch("SELECT * FROM users")}
        blogs = {r["id"]: (r["title"], r["updated_at"]) for r in await conn.fetch("TABLE blogs")}
    assert users[1] == ("Ada", "ada@example.com")
    assert users[2] == ("Bob", "bob@example.com")
    assert users[3] == ("\t", "carol@example.com ")
    assert users[4] == ("Dan", "Carol@example.com")
    assert blogs[1] == ("Hello", blog_times[1])

    [check] = await run(url, "data_check")
    assert {(r["id"], r["column"]) for r in rows(check)} == {
        (3, "name"),
        (3, "email"),
        (4, "email"),
        (5, "email"),
        (2, "title"),
    }
    again = await run(url, "data_fix")
    assert [r.status for r in again] == ["UPDATE 0", "UPDATE 0", "UPDATE 0", "SELECT 5"]


async def test_data_fix_trims_exactly_what_the_api_trims(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    candidates = [chr(i) for i in range(1, 0x3001) if chr(i).isspace()]
    candidates += ["\u200b", "\u2060", "\ufeff"]
    names, emails, titles = TypeAdapter(Name), TypeAdapter(Email), TypeAdapter(Title)
    raw = [(f"{c}N{i}{c}", f"{c}U{i}@X.org{c}", f"{c}T{i}{c}") for i, c in enumerate(candidates)]
    async with connect(url) as conn:
        await conn.executemany(
            "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, 'x')",
            [(i, name, email) for i, (name, email, _) in enumerate(raw, start=1)],
        )
        await conn.executemany(
            "INSERT INTO blogs (id, user_id, title, body) VALUES ($1, 1, $2, 'b')",
            [(i, title) for i, (_, _, title) in enumerate(raw, start=1)],
        )
    await run(url, "data_fix")
    async with connect(url) as conn:
        users = await conn.fetch("SELECT name, email FROM users ORDER BY id")
        blogs = await conn.fetch("SELECT title FROM blogs ORDER BY id")
    assert [(u["name"], u["email"]) for u in users] == [
        (names.validate_python(name), emails.validate_python(email)) for name, email, _ in raw
    ]
    assert [b["title"] for b in blogs] == [titles.validate_python(t) for _, _, t in raw]
    [check] = await run(url, "data_check")
    assert check.rows == []


# EXPLAIN of the named queries


async def test_explain_binds_typed_parameters(database_url: str) -> None:
    plan = await maintenance.explain(
        url=database_url,
        query=queries.load_all()["blogs_page"],
        params={
            "before_created_at": "infinity",
            "before_id": "9223372036854775807",
            "limit": "20",
            "reader_id": "0",
            "reader_version": "0",
        },
    )
    text = "\n".join(plan)
    assert plan[0].startswith("Limit")
    assert "'infinity'::timestamp with time zone" in text
    assert "actual time" not in text


async def test_explain_analyze_of_a_delete_changes_nothing(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    await seed_bad_rows(url)
    plan = await maintenance.explain(
        url=url,
        query=queries.load_all()["blog_delete"],
        params={"id": "3", "user_id": "6"},
        analyze=True,
    )
    text = "\n".join(plan)
    assert "Delete on blogs" in text
    assert "actual time" in text and "Buffers:" in text
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM blogs WHERE id = 3") == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"after_id": "abc", "limit": "5", "reader_id": "0", "reader_version": "0"},
            'after_id: invalid input syntax for type bigint: "abc"',
        ),
        (
            {"after_id": "1e40", "limit": "5", "reader_id": "0", "reader_version": "0"},
            "after_id: invalid input syntax",
        ),
        (
            {"after_id": "1", "reader_id": "0", "reader_version": "0"},
            r"is missing limit \(give --param limit=VALUE\)",
        ),
        (
            {"after_id": "1", "limit": "5", "x": "1"},
            r"no parameter 'x' \(it takes: reader_id, reader_version, after_id, limit\)",
        ),
    ],
)
async def test_explain_rejects_bad_parameters(
    database_url: str, params: dict[str, str], message: str
) -> None:
    with pytest.raises(MaintenanceError, match=message):
        await maintenance.explain(
            url=database_url, query=queries.load_all()["users_page"], params=params
        )
