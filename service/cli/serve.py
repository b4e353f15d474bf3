"""`python -m service serve`: migrate, then serve the API with granian.

The server's own limits guard the request head and the connections, before the app sees a
request: a head over MAX_HEADER_BYTES (its HTTP/1 buffer) or over 100 fields is answered 431
and the connection closed; a head not received within HEADER_TIMEOUT_SECONDS of the connection
or of the previous response is cut off (the connection closed, no answer); a worker accepts at
most MAX_CONNECTIONS connections at once, and the next ones wait in the listen backlog until one
ends. MAX_HEADERS below 100, the body's limits and X-Forwarded-For are the app's
(`service.api.middleware`, `service.cli.worker`).
"""

import argparse
import atexit
import logging
import logging.config
import os
import shutil
import tempfile
from typing import Any

from service.cli.database_url import database_url, direct_url
from service.cli.errors import CommandError
from service.cli.migrate import apply
from service.observability import logs
from service.settings import Settings

logger = logging.getLogger("service.serve")

# How long workers get to finish the requests in flight after SIGTERM, before they are killed.
GRACEFUL_SHUTDOWN_SECONDS = 10


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    # From the first line on, everything serve says goes through the log format the workers use.
    log_config = logs.dict_config(fmt=settings.log_format, level=settings.log_level)
    logging.config.dictConfig(log_config)
    logging.captureWarnings(True)

    host = args.host or settings.host
    if refusals := settings.refusals_on(host):
        raise CommandError("; ".join(refusals))
    url = database_url(settings)  # starts the embedded server when DATABASE_URL is unset
    if settings.migrate_on_start:
        apply(direct_url(settings, url), settings, say=logger.info)
    settings.warn_about_random_secret()
    if not os.environ.get("TOKEN_SECRET"):
        # One random secret for every worker, so a token from one is good at the others.
        os.environ["TOKEN_SECRET"] = settings.token_secret
    workers = args.workers or settings.worker_count
    if workers > 1:
        _share_metrics_between_workers()
    port = args.port or settings.port
    logger.info("serving on http://%s:%d (docs at /docs)", host, port)
    _run_granian(settings, host=host, port=port, workers=workers, log_config=log_config)


def _run_granian(
    settings: Settings, *, host: str, port: int, workers: int, log_config: dict[str, Any]
) -> None:
    """Serve until SIGTERM or SIGINT, then let the workers finish what they are answering."""
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        "service.cli.worker:create_worker_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        # HTTP/1 only: the head limits below are HTTP/1 settings, and no client of ours speaks
        # HTTP/2 without TLS.
        http=HTTPModes.http1,
        workers=workers,
        backpressure=settings.max_connections,
        http1_settings=HTTP1Settings(
            header_read_timeout=round(settings.header_timeout_seconds * 1000),
            max_buffer_size=settings.max_header_bytes,
        ),
        log_dictconfig=log_config,
        log_level=LogLevels(settings.log_level),
        log_access=False,  # ours is service.access (ACCESS_LOG)
        # A worker that dies is replaced; one that keeps dying at start stops serve.
        respawn_failed_workers=True,
        workers_kill_timeout=GRACEFUL_SHUTDOWN_SECONDS,
    ).serve()


def _share_metrics_between_workers() -> None:
    """prometheus_client's multiprocess mode: each worker writes its samples to files in one
    folder, read by whichever worker answers /metrics. The folder must start empty, or a dead
    worker's counts from an earlier run would be added in."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        folder = tempfile.mkdtemp(prefix="blog-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def _workers(value: str) -> int:
    if value == "auto":
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers, nor auto")
    return int(value)


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    serve = commands.add_parser("serve", help="migrate, then serve the API (the default)")
    serve.add_argument("--host", help="interface to bind (HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (PORT, default 8000)")
    serve.add_argument(
        "--workers", type=_workers, help="worker processes, or auto: one per core (WORKERS, 1)"
    )
    serve.set_defaults(handler=_serve)
