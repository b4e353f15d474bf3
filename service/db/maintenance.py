"""Maintenance scripts from `sql/maintenance/`: parsed, checked and run with asyncpg.

A script is one `.sql` file opening with header lines `-- key: value` (lower-case keys, one per
line; the header ends at the first line that is not one):

    -- purpose: one line saying what it does                          (required)
    -- read-only: yes|no    yes: runs in a READ ONLY transaction      (required)
    -- live: yes|no         may run while the service serves traffic  (required)
    -- transaction: yes|no  no: runs in autocommit, for VACUUM or REINDEX CONCURRENTLY (required)
    -- requires: EXTENSION  without it in the database, the run returns one message row
    -- param: NAME = DEFAULT  -- description    a value; without "= DEFAULT" it must be given
    -- param: NAME table = all  -- description  an identifier: one of our tables (or `index`:
                                                one of their valid indexes), or `all` of them

The SQL refers to parameters as psql does, so a file also runs under `psql -v NAME=VALUE -f`:
`:'NAME'` is a value, sent as a bound parameter (cast it, e.g. `:'limit'::bigint`); `:"NAME"` is
an identifier, which PostgreSQL cannot bind: it must name one of our tables or indexes, found in
the catalog and quoted by format('%I.%I'), and `all` runs the statement once for each of them.
The references are read, and values numbered as `$n`, by service.db.sql_params, as the named
queries' are (never inside a string, a quoted identifier, a comment or a `::` cast).
`:'our_tables'` is always given: the tables of service.db.tables.metadata, as a text array.

Statements end with a `;` that ends a line (a `;` inside a line, or a string, does not split),
so a dry run can report each one. The comment lines right above a statement name it.
Scripts that run outside a transaction may use identifiers but no values: their statements
(VACUUM, REINDEX) take no bound parameters.
"""

import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg

from service.db import sql_params
from service.db.queries import Query
from service.db.sql_files import MAINTENANCE_DIR
from service.db.tables import metadata
from service.db.urls import connect_to_primary

OUR_TABLES = "our_tables"
ALL = "all"
CONNECT_TIMEOUT = 10.0

Kind = Literal["value", "table", "index"]
Values = Mapping[str, str | None]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELD = re.compile(r"^--\s*([a-z][a-z-]*):\s*(.*?)\s*$")
_PARAM = re.compile(
    r"^(?P<name>[a-z][a-z0-9_]*)(?:\s+(?P<kind>table|index))?"
    r"(?:\s*=\s*(?P<default>.*?))?\s*(?:--\s*(?P<doc>.*))?$"
)
_FLAGS = {"yes": True, "no": False}
_KEYS = {"purpose", "read-only", "live", "transaction", "requires", "param"}
_REQUIRED_KEYS = ("purpose", "read-only", "live", "transaction")

_OUR_TABLE_NAMES = """
SELECT c.relname AS name, format('%I.%I', n.nspname, c.relname) AS quoted
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.oid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t)
ORDER BY c.relname
"""
_OUR_INDEX_NAMES = """
SELECT i.relname AS name, format('%I.%I', n.nspname, i.relname) AS quoted
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_namespace AS n ON n.oid = i.relnamespace
WHERE x.indrelid = ANY (SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) AS t)
  AND x.indisvalid
ORDER BY i.relname
"""


class MaintenanceError(Exception):
    """Something the caller can fix: a name, a parameter, a flag. One line, no traceback."""


class StatementFailed(MaintenanceError):
    def __init__(self, *, script: str, label: str, error: asyncpg.PostgresError) -> None:
        super().__init__(f"{script}: {label}: {error}")
        self.error = error


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    default: str | None
    doc: str


@dataclass(frozen=True)
class Statement:
    label: str
    sql: str
    values: tuple[str, ...]
    identifiers: tuple[str, ...]


@dataclass(frozen=True)
class Script:
    name: str
    path: Path
    text: str
    purpose: str
    read_only: bool
    live: bool
    transaction: bool
    requires: str | None
    params: tuple[Param, ...]
    statements: tuple[Statement, ...]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class Result:
    statement: str
    status: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    seconds: float


def our_tables() -> list[str]:
    return sorted(table.name for table in metadata.tables.values())


def _flag(name: str, key: str, value: str) -> bool:
    if value not in _FLAGS:
        raise MaintenanceError(f"{name}.sql: '-- {key}:' must be yes or no, not {value!r}")
    return _FLAGS[value]


def _param(name: str, line: str) -> Param:
    match = _PARAM.match(line)
    if match is None:
        raise MaintenanceError(
            f"{name}.sql: bad '-- param: {line}': write 'NAME [table|index] [= DEFAULT] -- doc'"
        )
    default = match["default"]
    return Param(
        name=match["name"],
        kind="table" if match["kind"] == "table" else "index" if match["kind"] else "value",
        default=default if default else None,
        doc=(match["doc"] or "").strip(),
    )


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("--")


def _statement(name: str, lines: list[str]) -> Statement | None:
    first_sql = next(
        (i for i, line in enumerate(lines) if line.strip() and not _is_comment(line)), None
    )
    if first_sql is None:
        return None
    above = list(itertools.takewhile(_is_comment, reversed(lines[:first_sql])))
    label = above[-1].lstrip()[2:].strip() if above else lines[first_sql].strip()
    sql = "\n".join(lines[first_sql:]).strip()
    refs = sql_params.scan(sql)
    for ref in refs:
        if ref.form == "bare":
            raise MaintenanceError(
                f"{name}.sql: write :{ref.name} as psql would bind it: :'{ref.name}' for a value, "
                f':"{ref.name}" for an identifier'
            )
        if ref.form == "positional":
            raise MaintenanceError(f"{name}.sql: ${ref.name} is never bound: name it (:'name')")
    values = tuple(dict.fromkeys(ref.name for ref in refs if ref.form == "quoted"))
    identifiers = tuple(dict.fromkeys(ref.name for ref in refs if ref.form == "identifier"))
    return Statement(label=label or name, sql=sql, values=values, identifiers=identifiers)


def split_statements(name: str, body: str) -> list[Statement]:
    """Cut at every line that ends with `;` and is not a comment; the `;` is dropped."""
    statements: list[Statement] = []
    chunk: list[str] = []
    for line in body.splitlines():
        stripped = line.rstrip()
        if stripped.endswith(";") and not _is_comment(stripped):
            chunk.append(stripped[:-1])
            if statement := _statement(name, chunk):
                statements.append(statement)
            chunk = []
        else:
            chunk.append(line)
    if statement := _statement(name, chunk):
        statements.append(statement)
    return statements


def parse(*, name: str, text: str, path: Path | None = None) -> Script:
    if not _NAME.match(name):
        raise MaintenanceError(f"{name}.sql: script names are lower-case letters, digits and _")
    lines = text.splitlines()
    fields: dict[str, str] = {}
    params: list[Param] = []
    header_end = 0
    while header_end < len(lines) and (match := _FIELD.match(lines[header_end])):
        key, value = match[1], match[2]
        if key not in _KEYS:
            raise MaintenanceError(f"{name}.sql: unknown header '-- {key}:'")
        if key == "param":
            params.append(_param(name, value))
        elif key in fields:
            raise MaintenanceError(f"{name}.sql: '-- {key}:' given twice")
        else:
            fields[key] = value
        header_end += 1
    missing = [key for key in _REQUIRED_KEYS if not fields.get(key)]
    if missing:
        raise MaintenanceError(f"{name}.sql: the header lacks '-- {missing[0]}:'")
    script = Script(
        name=name,
        path=path or MAINTENANCE_DIR / f"{name}.sql",
        text=text,
        purpose=fields["purpose"],
        read_only=_flag(name, "read-only", fields["read-only"]),
        live=_flag(name, "live", fields["live"]),
        transaction=_flag(name, "transaction", fields["transaction"]),
        requires=fields.get("requires") or None,
        params=tuple(params),
        statements=tuple(split_statements(name, "\n".join(lines[header_end:]))),
    )
    _check(script)
    return script


def _check(script: Script) -> None:
    where = f"{script.name}.sql"
    if not script.statements:
        raise MaintenanceError(f"{where}: no statement")
    names = [p.name for p in script.params]
    if len(set(names)) != len(names):
        raise MaintenanceError(f"{where}: a parameter is declared twice")
    if OUR_TABLES in names:
        raise MaintenanceError(f"{where}: {OUR_TABLES} is given by the runner, not declared")
    used: set[str] = set()
    for statement in script.statements:
        for ref in statement.values:
            param = script.param(ref)
            if ref != OUR_TABLES and (param is None or param.kind != "value"):
                raise MaintenanceError(f"{where}: :'{ref}' is not a declared value parameter")
            if not script.transaction:
                raise MaintenanceError(
                    f"{where}: runs outside a transaction, so it cannot bind :'{ref}'"
                )
        for ref in statement.identifiers:
            param = script.param(ref)
            if param is None or param.kind == "value":
                raise MaintenanceError(f'{where}: :"{ref}" is not a declared table or index')
        used.update(statement.values, statement.identifiers)
    unused = [name for name in names if name not in used]
    if unused:
        raise MaintenanceError(f"{where}: parameter {unused[0]} is declared but not used")


def load_all(directory: Path = MAINTENANCE_DIR) -> dict[str, Script]:
    return {
        path.stem: parse(name=path.stem, text=path.read_text(encoding="utf-8"), path=path)
        for path in sorted(directory.glob("*.sql"))
    }


def load(name: str, directory: Path = MAINTENANCE_DIR) -> Script:
    path = directory / f"{name}.sql"
    if not _NAME.match(name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.sql")))
        raise MaintenanceError(f"no maintenance script {name!r} (there are: {known})")
    return parse(name=name, text=path.read_text(encoding="utf-8"), path=path)


def parse_assignments(items: Sequence[str], *, nulls: Sequence[str] = ()) -> dict[str, str | None]:
    """`--param key=value` strings (and `--null key` names) as a dict; None stands for NULL."""
    values: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MaintenanceError(f"--param takes key=value, not {item!r}")
        if key in values:
            raise MaintenanceError(f"parameter {key} is given twice")
        values[key] = value
    for key in nulls:
        if key in values:
            raise MaintenanceError(f"parameter {key} is given twice")
        values[key] = None
    return values


def _choose(
    *, what: str, declared: Sequence[str], given: Values, defaults: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Every declared name with its given or default value; unknown or missing ones are errors."""
    unknown = [key for key in given if key not in declared]
    if unknown:
        takes = ", ".join(declared) or "no parameters"
        raise MaintenanceError(f"{what} has no parameter {unknown[0]!r} (it takes: {takes})")
    missing = [key for key in declared if key not in given and key not in defaults]
    if missing:
        raise MaintenanceError(
            f"{what} is missing {', '.join(missing)} (give --param {missing[0]}=VALUE)"
        )
    return {key: given[key] if key in given else defaults[key] for key in declared}


def resolve(script: Script, given: Values, *, dry_run: bool = False) -> dict[str, str | None]:
    """The parameters a run would use; every mistake found before touching the database."""
    if dry_run and not script.transaction:
        raise MaintenanceError(
            f"{script.name} runs outside a transaction (VACUUM, REINDEX CONCURRENTLY cannot be "
            "rolled back), so it has no dry run"
        )
    chosen = _choose(
        what=f"script {script.name}",
        declared=[p.name for p in script.params],
        given=given,
        defaults={p.name: p.default for p in script.params if p.default is not None},
    )
    for param in script.params:
        if param.kind != "value" and chosen[param.name] is None:
            raise MaintenanceError(
                f"parameter {param.name} names a {param.kind}: it cannot be NULL"
            )
    return chosen


async def connect(
    url: str, *, statement_timeout: str, lock_timeout: str, application_name: str
) -> asyncpg.Connection:
    """A session whose every statement gives up after the timeouts (PostgreSQL units: 60s)."""
    return await connect_to_primary(
        url,
        timeout=CONNECT_TIMEOUT,
        server_settings={
            "statement_timeout": statement_timeout,
            "lock_timeout": lock_timeout,
            "application_name": application_name,
        },
    )


async def _identifiers(
    conn: asyncpg.Connection, script: Script, chosen: Values
) -> dict[str, list[str]]:
    """Each identifier parameter as the quoted names it stands for: one, or all of ours."""
    found: dict[str, list[str]] = {}
    for param in script.params:
        if param.kind == "value":
            continue
        query = _OUR_TABLE_NAMES if param.kind == "table" else _OUR_INDEX_NAMES
        rows = await conn.fetch(query, our_tables())
        value = chosen[param.name]
        if value == ALL:
            found[param.name] = [row["quoted"] for row in rows]
            continue
        match = [row["quoted"] for row in rows if row["name"] == value]
        if not match:
            plural = "indexes" if param.kind == "index" else "tables"
            known = ", ".join(row["name"] for row in rows)
            raise MaintenanceError(
                f"parameter {param.name}: {value!r} is not one of our {plural} "
                f"(choose from: {ALL}, {known})"
            )
        found[param.name] = match
    return found


def _expand(
    statement: Statement, identifiers: Mapping[str, list[str]]
) -> Iterator[tuple[str, str]]:
    """(label, sql) for each combination of the statement's identifiers, values as $n."""
    refs = sql_params.scan(statement.sql)
    sql, _ = sql_params.number(statement.sql, refs)
    names = statement.identifiers
    for combination in itertools.product(*(identifiers[name] for name in names)):
        chosen = dict(zip(names, combination, strict=True))
        label = statement.label + "".join(f" [{quoted}]" for quoted in combination)
        yield label, sql_params.substitute_identifiers(sql, chosen)


async def convert(conn: asyncpg.Connection, *, name: str, raw: str, type_oid: int) -> Any:
    """A command-line string as a value of the parameter's type, parsed by PostgreSQL itself."""
    type_sql = await conn.fetchval("SELECT format_type($1, NULL)", type_oid)
    try:
        # type_sql is the server's own spelling of a type it told us; raw stays bound.
        return await conn.fetchval(f"SELECT $1::text::{type_sql}", raw)
    except asyncpg.DataError as exc:
        raise MaintenanceError(f"parameter {name}: {exc}") from None


async def _arguments(
    conn: asyncpg.Connection,
    *,
    names: Sequence[str],
    types: Sequence[Any],
    chosen: Mapping[str, Any],
) -> list[Any]:
    args: list[Any] = []
    for name, type_ in zip(names, types, strict=True):
        raw = chosen[name]
        if raw is None or not isinstance(raw, str):
            args.append(raw)
        else:
            args.append(await convert(conn, name=name, raw=raw, type_oid=type_.oid))
    return args


def _missing_extension(script: Script, reason: str) -> list[Result]:
    return [
        Result(
            statement=f"requires {script.requires}",
            status="SKIPPED",
            columns=("message",),
            rows=[(reason,)],
            seconds=0.0,
        )
    ]


async def _run_statements(
    conn: asyncpg.Connection,
    *,
    script: Script,
    chosen: Mapping[str, Any],
    identifiers: Mapping[str, list[str]],
    on_result: Callable[[Result], None] | None,
) -> list[Result]:
    results: list[Result] = []
    for statement in script.statements:
        for label, sql in _expand(statement, identifiers):
            started = time.monotonic()
            try:
                if script.transaction:
                    prepared = await conn.prepare(sql)
                    args = await _arguments(
                        conn, names=statement.values, types=prepared.get_parameters(), chosen=chosen
                    )
                    records = await prepared.fetch(*args)
                    columns = tuple(a.name for a in prepared.get_attributes())
                    status = prepared.get_statusmsg()
                    rows = [tuple(record) for record in records]
                else:
                    status, columns, rows = await conn.execute(sql), (), []
            except asyncpg.PostgresError as exc:
                raise StatementFailed(script=script.name, label=label, error=exc) from exc
            result = Result(
                statement=label,
                status=status or "",
                columns=columns,
                rows=rows,
                seconds=time.monotonic() - started,
            )
            results.append(result)
            if on_result:
                on_result(result)
    return results


async def run(
    *,
    url: str,
    script: Script,
    params: Values,
    dry_run: bool = False,
    statement_timeout: str = "60s",
    lock_timeout: str = "5s",
    on_result: Callable[[Result], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> list[Result]:
    """Run every statement; a dry run runs them in a transaction and rolls it back."""
    chosen: dict[str, Any] = {**resolve(script, params, dry_run=dry_run), OUR_TABLES: our_tables()}
    conn = await connect(
        url,
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
        application_name=f"blog-api sql run {script.name}",
    )
    try:
        if on_notice:
            conn.add_log_listener(lambda _conn, message: on_notice(str(message)))
        if script.requires and not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = $1)", script.requires
        ):
            return _missing_extension(
                script,
                f"{script.requires} is not installed in this database: CREATE EXTENSION "
                f"{script.requires} (some, pg_stat_statements among them, must also be in "
                "shared_preload_libraries)",
            )
        identifiers = await _identifiers(conn, script, chosen)
        if not script.transaction:
            return await _run_statements(
                conn, script=script, chosen=chosen, identifiers=identifiers, on_result=on_result
            )
        transaction = conn.transaction(readonly=script.read_only)
        await transaction.start()
        try:
            results = await _run_statements(
                conn, script=script, chosen=chosen, identifiers=identifiers, on_result=on_result
            )
        except StatementFailed as exc:
            await transaction.rollback()
            if script.requires and isinstance(exc.error, asyncpg.ObjectNotInPrerequisiteStateError):
                return _missing_extension(script, f"{script.requires} is not usable: {exc.error}")
            raise
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
        return results
    finally:
        await conn.close()


async def explain(
    *,
    url: str,
    query: Query,
    params: Values,
    analyze: bool = False,
    statement_timeout: str = "60s",
    lock_timeout: str = "5s",
) -> list[str]:
    """The plan of a named query, as text lines. ANALYZE runs it in a transaction rolled back."""
    chosen = _choose(what=f"query {query.name}", declared=query.params, given=params, defaults={})
    conn = await connect(
        url,
        statement_timeout=statement_timeout,
        lock_timeout=lock_timeout,
        application_name=f"blog-api sql explain {query.name}",
    )
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            prepared = await conn.prepare(query.sql)
            args = await _arguments(
                conn, names=query.params, types=prepared.get_parameters(), chosen=chosen
            )
            options = "(ANALYZE, BUFFERS)" if analyze else ""
            rows = await conn.fetch(f"EXPLAIN {options}\n{query.sql}", *args)
            return [row[0] for row in rows]
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
