"""PgBouncer in transaction pooling mode, in front of the test server."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.system import free_port, user_exists


@dataclass
class Bouncer:
    port: int
    pool_size: int

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


def pgbouncer_or_skip() -> str:
    """The pgbouncer program; CI (CI=true) installs it, elsewhere its tests are skipped."""
    program = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("pgbouncer is not installed (.ci/run installs it)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    return program


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 3) -> Iterator[Bouncer]:
    """PgBouncer 1.18+ (Debian's) in transaction mode in front of `server_url`'s server, for
    every database on it, with at most `pool_size` server connections per database."""
    program = pgbouncer_or_skip()
    parts = urlsplit(server_url)
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    host = socket_dir or parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    base = Path(tempfile.mkdtemp(prefix="blog-api-pgbouncer-"))
    bouncer = Bouncer(free_port(), pool_size)
    (base / "users.txt").write_text('"postgres" ""\n')
    (base / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={port}\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {bouncer.port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {base / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n"
        f"logfile = {base / 'pgbouncer.log'}\npidfile = {base / 'pgbouncer.pid'}\n"
    )
    command = [program, str(base / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        # The embedded server's own user, when it runs one: it may reach that server's socket.
        user = "pgserver" if user_exists("pgserver") else "nobody"
        shutil.chown(base, user)
        for path in base.iterdir():
            shutil.chown(path, user)
        command[1:1] = ["-u", user]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", bouncer.port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = base / "pgbouncer.log"
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"pgbouncer did not start: {error} {log.read_text()[-2000:]}")
                time.sleep(0.05)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(base, ignore_errors=True)
