"""`python -m service`: serve, migrate, seed, sql."""

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import asyncpg
from pydantic import ValidationError

from service.cli import migrate, seed, serve, sql
from service.cli.errors import CommandError
from service.db.embedded import EmbeddedUnavailable
from service.db.maintenance import MaintenanceError
from service.db.migrations import MigrationError
from service.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], int | None]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = root.add_subparsers(dest="command")
    for command in (serve, migrate, seed, sql):
        command.register(commands)
    return root


def _error(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; every expected failure is one `error:` line on stderr and exit code 1."""
    args = parser().parse_args(argv)
    if args.command is None:
        args = parser().parse_args(["serve"])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    handler: Handler = args.handler
    try:
        return handler(args, Settings()) or 0
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        return _error(f"bad settings: {problems}")
    except (CommandError, MigrationError, MaintenanceError, EmbeddedUnavailable) as exc:
        return _error(str(exc))
    except asyncpg.PostgresError as exc:
        return _error(f"database: {exc}")
    except (OSError, asyncpg.InterfaceError) as exc:
        return _error(f"cannot reach the database: {exc}")
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
