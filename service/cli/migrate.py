"""`python -m service migrate`: apply pending migrations, or list them with --status."""

import argparse
import asyncio
from collections.abc import Callable

from service.cli.database_url import direct_url
from service.db import migrations
from service.settings import Settings


def apply(url: str, settings: Settings, *, say: Callable[[str], object] = print) -> None:
    """Apply pending migrations, saying what was done (a line to stdout, or `say`)."""
    applied = asyncio.run(migrations.migrate(url, search_config=settings.search_config))
    for migration in applied:
        say(f"applied {migration.file_name}")
    if not applied:
        say("migrations: up to date")


def _migrate(args: argparse.Namespace, settings: Settings) -> None:
    url = direct_url(settings)
    if not args.status:
        apply(url, settings)
        return
    state = asyncio.run(migrations.status(url))
    for done in state.applied:
        print(f"applied  {done.version:04d}_{done.name}.sql  {done.applied_at:%Y-%m-%d %H:%M:%S%z}")
    for migration in state.pending:
        print(f"pending  {migration.file_name}")


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    migrate = commands.add_parser("migrate", help="apply pending migrations")
    migrate.add_argument("--status", action="store_true", help="list applied and pending ones")
    migrate.set_defaults(handler=_migrate)
