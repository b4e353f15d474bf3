"""`python -m service sql`: list, show and run the maintenance scripts in `sql/maintenance/`;
render and EXPLAIN the named queries in `sql/queries/`.

Every session sets statement_timeout and lock_timeout (60s and 5s unless told otherwise), so a
script waiting on a lock gives up instead of queueing the service's queries behind it.
"""

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Awaitable
from typing import TypeVar

from service.cli.database_url import direct_url
from service.cli.errors import CommandError
from service.cli.render import FORMATS, colored, render, table
from service.db import maintenance, queries
from service.db.maintenance import Result
from service.settings import Settings

T = TypeVar("T")

# A run taking longer than this reports its time on stderr, and a tick every ELAPSED_TICK.
ELAPSED_AFTER = 2.0
ELAPSED_TICK = 10.0

_TIMEOUT = re.compile(r"^\d+(\.\d+)?\s*(us|ms|s|min|h|d)?$")


def _timeout(value: str) -> str:
    if not _TIMEOUT.match(value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 500ms, 60s or 5min")
    return value.strip()


async def _timed(label: str, work: Awaitable[T]) -> T:
    """Await `work`, telling stderr how long it has been running once that gets long."""
    started = time.monotonic()
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait({task}, timeout=ELAPSED_TICK)
        if not task.done():
            print(f"{label}: running for {time.monotonic() - started:.0f}s", file=sys.stderr)
    elapsed = time.monotonic() - started
    if elapsed >= ELAPSED_AFTER:
        print(f"{label}: took {elapsed:.1f}s", file=sys.stderr)
    return task.result()


def _list(args: argparse.Namespace, settings: Settings) -> int:
    scripts = maintenance.load_all()
    columns = ("name", "read_only", "live", "transaction", "params", "purpose")

    def flag(value: bool) -> bool | str:
        return ("yes" if value else "no") if args.format == "table" else value

    rows = [
        (
            s.name,
            flag(s.read_only),
            flag(s.live),
            flag(s.transaction),
            " ".join(
                f"{p.name}={p.default or '?'}" + (f" ({p.kind})" if p.kind != "value" else "")
                for p in s.params
            ),
            s.purpose + (f" [requires {s.requires}]" if s.requires else ""),
        )
        for s in scripts.values()
    ]
    if args.format == "table":
        print(table(columns, rows))
    else:
        result = Result(statement="sql list", status="", columns=columns, rows=rows, seconds=0)
        print(render([result], fmt=args.format))
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    """The script's SQL on stdout; what each parameter means on stderr, so stdout stays the file."""
    script = maintenance.load(args.name)
    for param in script.params:
        kind = "" if param.kind == "value" else f"{param.kind}, "
        default = "required" if param.default is None else f"default {param.default}"
        print(f"--param {param.name} ({kind}{default}): {param.doc}", file=sys.stderr)
    print(colored(script.text) if sys.stdout.isatty() else script.text, end="")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:

    script = maintenance.load(args.name)
    params = maintenance.parse_assignments(args.param, nulls=args.null)
    maintenance.resolve(script, params, dry_run=args.dry_run)

    def progress(result: Result) -> None:
        if not script.transaction:
            print(f"{result.statement}: {result.status} in {result.seconds:.1f}s", file=sys.stderr)

    results = asyncio.run(
        _timed(
            script.name,
            maintenance.run(
                url=direct_url(settings),
                script=script,
                params=params,
                dry_run=args.dry_run,
                statement_timeout=args.statement_timeout,
                lock_timeout=args.lock_timeout,
                on_result=progress,
                on_notice=lambda message: print(f"notice: {message}", file=sys.stderr),
            ),
        )
    )
    print(render(results, fmt=args.format))
    if args.dry_run:
        print("dry run: rolled back, nothing was changed", file=sys.stderr)
    return 0


def _query(name: str) -> queries.Query:
    named = queries.load_all()
    if name not in named:
        raise CommandError(f"no query {name!r} (there are: {', '.join(named)})")
    return named[name]


def _render(args: argparse.Namespace, settings: Settings) -> int:
    """The statement exactly as the service sends it on stdout; its parameters on stderr."""
    query = _query(args.query)
    for number, name in enumerate(query.params, start=1):
        print(f"${number} = :{name}", file=sys.stderr)
    text = query.sql if query.sql.endswith("\n") else query.sql + "\n"
    print(colored(text) if sys.stdout.isatty() else text, end="")
    return 0


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    query = _query(args.query)
    lines = asyncio.run(
        _timed(
            args.query,
            maintenance.explain(
                url=direct_url(settings),
                query=query,
                params=maintenance.parse_assignments(args.param, nulls=args.null),
                analyze=args.analyze,
                statement_timeout=args.statement_timeout,
                lock_timeout=args.lock_timeout,
            ),
        )
    )
    print("\n".join(lines))
    return 0


def _session_options(command: argparse.ArgumentParser, *, params_help: str) -> None:
    command.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{params_help}; converted to the parameter's type by PostgreSQL",
    )
    command.add_argument(
        "--null", action="append", default=[], metavar="KEY", help="pass NULL for KEY"
    )
    command.add_argument(
        "--statement-timeout",
        type=_timeout,
        default="60s",
        metavar="DURATION",
        help="give up on any statement running longer (60s; 0 for none)",
    )
    command.add_argument(
        "--lock-timeout",
        type=_timeout,
        default="5s",
        metavar="DURATION",
        help="give up on any lock not granted within this (5s; 0 for none)",
    )


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sql = commands.add_parser(
        "sql",
        help="maintenance SQL: list, show and run scripts; render and explain named queries",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = sql.add_subparsers(dest="sql_command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="every script, its purpose, flags and parameters")
    listing.add_argument("--format", choices=FORMATS, default="table")
    listing.set_defaults(handler=_list)

    show = sub.add_parser(
        "show", help="a script's SQL (coloured on a terminal), its parameters on stderr"
    )
    show.add_argument("name", help="a script from sql list")
    show.set_defaults(handler=_show)

    run = sub.add_parser(
        "run",
        help="run a script against DATABASE_URL",
        description="Read-only scripts run in a READ ONLY transaction, writing ones in one "
        "transaction, and those marked 'transaction: no' in autocommit.",
    )
    run.add_argument("name", help="a script from sql list")
    _session_options(run, params_help="a script parameter (see sql list)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="run in a transaction and roll it back, showing what each statement would change",
    )
    run.add_argument("--format", choices=FORMATS, default="table")
    run.set_defaults(handler=_run)

    render = sub.add_parser(
        "render",
        help="a named query from sql/queries/ exactly as it runs: parts included, $n for names",
        description="The statement on stdout, each $n and the parameter it binds on stderr.",
    )
    render.add_argument("query", help="a file name in sql/queries/, without .sql")
    render.set_defaults(handler=_render)

    explain = sub.add_parser(
        "explain",
        help="EXPLAIN a named query from sql/queries/",
        description="--analyze executes the query, in a transaction that is rolled back.",
    )
    explain.add_argument("query", help="a file name in sql/queries/, without .sql")
    _session_options(explain, params_help="a query parameter, by its name (:name in the file)")
    explain.add_argument("--analyze", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS)")
    explain.set_defaults(handler=_explain)
