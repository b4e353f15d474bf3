"""The app as a worker process of `serve` builds it: a worker that ends with the process that
started it.

With `--workers N` the server's supervisor (`serve` itself) spawns the workers that hold the
listening socket. If the supervisor dies without stopping them (SIGKILL, the OOM killer, a
crash) they would go on serving, orphaned, on the port. So each worker asks to get SIGTERM when
its parent goes, and then shuts down as it would on any SIGTERM: gracefully, waiting for the
requests in flight. An orphan has nobody to wait for it, though, and a graceful shutdown may
wait as long as the server grants it; so a watch thread ends any worker still alive a few
seconds after its parent is gone, whatever it is still waiting for.
"""

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time

from fastapi import FastAPI

from service.api.app import create_app

# <linux/prctl.h>
_PR_SET_PDEATHSIG = 1
# How often the watch thread looks at the parent.
_WATCH_INTERVAL = 0.5
# How long an orphaned worker may take to shut down gracefully before it is ended.
ORPHAN_GRACE_SECONDS = 3.0


def create_worker_app() -> FastAPI:
    """The app factory `serve` hands to the server."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:  # a spawned worker, not `serve` itself
        exit_with_parent(parent.pid)
    return create_app()


def exit_with_parent(parent_pid: int) -> None:
    """SIGTERM to this process as soon as `parent_pid`, its parent, is gone, and an exit
    ORPHAN_GRACE_SECONDS later if it is still running then."""
    signalled_by_kernel = sys.platform == "linux" and _set_parent_death_signal(signal.SIGTERM)
    threading.Thread(
        target=_watch_parent,
        args=(parent_pid,),
        kwargs={"send_sigterm": not signalled_by_kernel},
        name="parent-watch",
        daemon=True,
    ).start()
    # The parent may have died before the signal was asked for: then nobody sends it.
    if signalled_by_kernel and os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


def _set_parent_death_signal(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, *, send_sigterm: bool) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_WATCH_INTERVAL)
    if send_sigterm:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_SECONDS)
    os._exit(1)
