"""A local PostgreSQL from the `pgserver` package, for running without DATABASE_URL."""

from pathlib import Path


class EmbeddedUnavailable(Exception):
    pass


def start(data_dir: Path) -> str:
    """Start (or reuse) a server keeping its data in `data_dir`; return its URL.

    The server stops when this process exits.
    """
    try:
        import pgserver  # optional: the [embedded] extra
    except ImportError:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded server is not installed: "
            "pip install -e '.[embedded]'"
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
