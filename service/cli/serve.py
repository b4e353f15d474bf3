"""`python -m service serve`: migrate, then serve the API with uvicorn."""

import argparse
import os
import signal

from service.cli.database_url import database_url
from service.cli.migrate import apply
from service.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn  # only this command needs the server

    url = database_url(settings)
    if settings.migrate_on_start:
        apply(url, settings)
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
        "service.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers or settings.workers,
        log_level=settings.log_level,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
    )


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    serve = commands.add_parser("serve", help="migrate, then serve the API (the default)")
    serve.add_argument("--host", help="interface to bind (HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (WORKERS, default 1)")
    serve.set_defaults(handler=_serve)
