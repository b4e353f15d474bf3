"""`python -m service serve`: migrate, then serve the API with uvicorn."""

import argparse
import atexit
import os
import shutil
import signal
import tempfile

from service.cli.database_url import database_url, direct_url
from service.cli.errors import CommandError
from service.cli.migrate import apply
from service.observability import logs
from service.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn  # only this command needs the server

    from service.cli.http_protocol import LimitedHttpToolsProtocol

    host = args.host or settings.host
    if refusals := settings.refusals_on(host):
        raise CommandError("; ".join(refusals))
    url = database_url(settings)  # starts the embedded server when DATABASE_URL is unset
    if settings.migrate_on_start:
        apply(direct_url(settings, url), settings)
    settings.warn_about_random_secret()
    if not os.environ.get("TOKEN_SECRET"):
        # One random secret for every worker, so a token from one is good at the others.
        os.environ["TOKEN_SECRET"] = settings.token_secret
    workers = args.workers or settings.worker_count
    if workers > 1:
        _share_metrics_between_workers()
    port = args.port or settings.port
    print(f"serving on http://{host}:{port} (docs at /docs)")
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
        log_config=logs.dict_config(fmt=settings.log_format, level=settings.log_level),
        log_level=settings.log_level,
        access_log=False,  # ours is service.access (ACCESS_LOG)
        timeout_graceful_shutdown=10,
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
