"""`python -m service serve`: migrate, then serve the API with uvicorn.

uvicorn runs on our subclass of its httptools protocol (`service.cli.http_protocol`), which
holds the limits on the request head and on connections before the app sees a request; the
body's limits are the app's (`service.api.middleware.body_limit`).
"""

import argparse
import atexit
import logging
import logging.config
import os
import shutil
import signal
import tempfile
from typing import Any

from service.cli.database_url import database_url, direct_url
from service.cli.errors import CommandError
from service.cli.migrate import apply
from service.observability import logs
from service.settings import Settings

logger = logging.getLogger("service.serve")

# How long workers get to finish the requests in flight after SIGTERM, before those are cancelled.
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
    _run_uvicorn(settings, host=host, port=port, workers=workers, log_config=log_config)


def _run_uvicorn(
    settings: Settings, *, host: str, port: int, workers: int, log_config: dict[str, Any]
) -> None:
    """Serve until SIGTERM or SIGINT, then let the workers finish what they are answering."""
    import uvicorn  # only this command needs the server

    from service.cli.http_protocol import LimitedHttpToolsProtocol

    # uvicorn shuts down gracefully on SIGTERM or Ctrl+C, then restores the previous handler and
    # raises the signal again; with a no-op handler that ends in a normal exit 0 (which also lets
    # the embedded server stop), not death by signal or a KeyboardInterrupt traceback.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    uvicorn.run(
        "service.cli.worker:create_worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
        log_level=settings.log_level,
        access_log=False,  # ours is service.access (ACCESS_LOG)
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Limits on the request head and on open connections; it reads them from the
        # environment in each worker process (see its docstring).
        http=LimitedHttpToolsProtocol,
        # X-Forwarded-For/-Proto only from the proxies FORWARDED_ALLOW_IPS names. Empty
        # trusts none: no proxy-headers middleware at all (uvicorn would otherwise trust
        # 127.0.0.1 by default), so request.client is always the peer.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )


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
