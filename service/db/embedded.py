"""A local PostgreSQL from the `pgserver` package, for running without DATABASE_URL."""

import json
import os
from pathlib import Path

# pgserver keeps the pids of the processes using a server here, and stops the server when the
# last of them exits. A process that died without exiting (SIGKILL, a crash) stays listed, and
# the server would then never be stopped again: forget those first.
_HANDLES = ".handle_pids.json"


class EmbeddedUnavailable(Exception):
    pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(data_dir: Path) -> None:
    path = data_dir / _HANDLES
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return
    if isinstance(pids, list):
        path.write_text(json.dumps([pid for pid in pids if isinstance(pid, int) and _alive(pid)]))


def start(data_dir: Path) -> str:
    """Start (or reuse) a server keeping its data in `data_dir`; return its URL.

    The server stops when the last process using it exits.
    """
    try:
        import pgserver  # optional: the [embedded] extra
    except ImportError:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded server is not installed: "
            "pip install -e '.[embedded]'"
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
