"""A primary and a streaming replica of its own, from the embedded package's binaries."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.testing.databases import connect
from tests.support.system import free_port, user_exists
from tests.support.waiting import eventually


@dataclass
class Cluster:
    """Two PostgreSQL servers from the embedded package's binaries: a primary and a streaming
    replica made from it with pg_basebackup -R."""

    base: Path
    bin: Path
    user: str | None
    primary_port: int
    replica_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.replica_port}/postgres"

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def pg_ctl(self, node: str, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.base / node), "-l", str(self.base / f"{node}.log"), *args)

    def stop_replica(self) -> None:
        self.pg_ctl("replica", "-m", "fast", "-w", "stop")

    def start_replica(self) -> None:
        self.pg_ctl("replica", "-w", "start")

    async def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        async with connect(self.primary_url) as primary:
            target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()")

        async def replayed() -> bool:
            async with connect(self.replica_url) as replica:
                return bool(
                    await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target)
                )

        await eventually(replayed, within=20, what="the replica to catch up")


def _server_options(port: int, sockets: Path) -> str:
    return (
        f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
        f"unix_socket_directories = '{sockets}'\nfsync = off\n"
    )


@contextmanager
def streaming_replica() -> Iterator[Cluster]:
    import pgserver  # its binaries: the same on every machine the tests run on

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    base = Path(tempfile.mkdtemp(prefix="blog-api-cluster-"))
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "pgserver"  # the embedded server's own user (pgserver creates it the same way)
        if not user_exists(user):
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run([useradd, "-s", "/bin/bash", user], check=True, capture_output=True)
        shutil.chown(base, user)
    cluster = Cluster(base, bin_dir, user, free_port(), free_port())
    started: list[str] = []
    try:
        cluster.run("initdb", "-D", str(base / "primary"), "-U", "postgres", "--auth=trust", "-N")
        with (base / "primary" / "postgresql.conf").open("a") as conf:
            conf.write(_server_options(cluster.primary_port, base))
        cluster.pg_ctl("primary", "-w", "start")
        started.append("primary")
        cluster.run(
            "pg_basebackup",
            *("-D", str(base / "replica"), "-R", "-X", "stream"),
            *("-h", "127.0.0.1", "-p", str(cluster.primary_port), "-U", "postgres"),
        )
        with (base / "replica" / "postgresql.conf").open("a") as conf:
            conf.write(_server_options(cluster.replica_port, base))
        cluster.start_replica()
        started.append("replica")
        yield cluster
    finally:
        for node in reversed(started):
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(base / node), "-m", "immediate", "stop"],
                user=user,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(base, ignore_errors=True)
