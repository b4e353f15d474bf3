"""`python -m service`: serve, migrate."""

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

import asyncpg
from pydantic import ValidationError

from service import embedded, migrations, seed, sql_cli
from service.settings import Settings

logger = logging.getLogger("service")


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or a started embedded server's URL, exported for worker processes."""
    if settings.database_url:
        return settings.database_url
    print(
        f"DATABASE_URL is not set: starting PostgreSQL in {settings.embedded_data_dir}",
        file=sys.stderr,
    )
    url = embedded.start(settings.embedded_data_dir)
    os.environ["DATABASE_URL"] = url
    return url


def _migrate(url: str) -> None:
    applied = asyncio.run(migrations.migrate(url))
    for migration in applied:
        print(f"applied {migration.path.name}")
    if not applied:
        print("migrations: up to date")


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn  # only this command needs the server

    url = database_url(settings)
    if settings.migrate_on_start:
        _migrate(url)
    settings.warn_about_random_secret()
    if not os.environ.get("TOKEN_SECRET"):
        # One random secret for every worker, so a token from one is good at the others.
        os.environ["TOKEN_SECRET"] = settings.token_secret
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"serving on http://{host}:{port} (docs at /docs)")
    # uvicorn shuts down gracefully on SIGTERM or Ctrl+C, then restores the previous handler and
    # raises the signal again; with a no-op handler that ends in a normal exit 0 (which also lets
    # the embedded server stop), not death by signal or a KeyboardInterrupt traceback.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers or settings.workers,
        log_level=settings.log_level,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
    )


def _migrate_command(args: argparse.Namespace, settings: Settings) -> None:
    url = database_url(settings)
    if not args.status:
        _migrate(url)
        return
    state = asyncio.run(migrations.status(url))
    for done in state.applied:
        print(f"applied  {done.version:04d}_{done.name}.sql  {done.applied_at:%Y-%m-%d %H:%M:%S%z}")
    for migration in state.pending:
        print(f"pending  {migration.path.name}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = root.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="migrate, then serve the API (the default)")
    serve.add_argument("--host", help="interface to bind (HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (WORKERS, default 1)")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply pending migrations")
    migrate.add_argument("--status", action="store_true", help="list applied and pending ones")
    migrate.set_defaults(handler=_migrate_command)

    seed.register(commands)
    sql_cli.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; every handler takes (args, settings) and may return an exit code."""
    args = parser().parse_args(argv)
    if args.command is None:
        args = parser().parse_args(["serve"])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    try:
        settings = Settings()
        return args.handler(args, settings) or 0
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        print(f"error: bad settings: {problems}", file=sys.stderr)
    except (migrations.MigrationError, embedded.EmbeddedUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"error: database: {exc}", file=sys.stderr)
    return 1
