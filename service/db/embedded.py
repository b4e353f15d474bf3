"""A local PostgreSQL from the `pgserver` package, for running without DATABASE_URL."""

import json
import os
import warnings
from pathlib import Path
from types import ModuleType

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


def import_pgserver() -> ModuleType:
    """The `pgserver` package, imported without platformdirs' RuntimeDirWarning.

    On import, pgserver asks platformdirs for the user's runtime folder (for its lock file and,
    when the data folder's path is too long, the server's socket). Without XDG_RUNTIME_DIR (a
    container, a cron job, su) platformdirs falls back to /tmp/runtime-<uid> and warns, and
    every command that starts the embedded server printed that line. The fallback suits
    pgserver, so the warning says nothing a user can act on.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
        import pgserver  # optional: the [embedded] extra

    return pgserver


def start(data_dir: Path) -> str:
    """Start (or reuse) a server keeping its data in `data_dir`; return its URL.

    The server stops when the last process using it exits.
    """
    try:
        pgserver = import_pgserver()
    except ImportError:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded server is not installed: "
            "pip install -e '.[embedded]'"
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    uri: str = server.get_uri()
    return uri
