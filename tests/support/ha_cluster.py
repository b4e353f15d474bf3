"""A pg_auto_failover cluster of its own: a monitor and two data nodes, on loopback ports in a
temporary directory, run as the `postgres` user (PostgreSQL refuses root).

Synchronous replication: with one standby that takes part in the write quorum,
pg_auto_failover sets the primary's `synchronous_standby_names` to `ANY 1 (<standby>)`, so a
commit returns only once the standby has flushed it; `asynchronous=True` takes the standby out
of the quorum instead (commits no longer wait for it), which is how the tests show what
synchronous replication buys.

The monitor's health checks are tuned to about a second (`HEALTH_CHECKS`), and so are the
keepers' (`KEEPER_TIMEOUTS`): with the defaults a failover takes 20 to 30 seconds.

`lose_primary()` is the primary's machine dying: its keeper (which would otherwise restart
PostgreSQL at once) and its postmaster are killed with SIGKILL. `revive()` starts that node's
keeper again; it rejoins as a standby. Debian's `postgresql-15-auto-failover` and
`pg-auto-failover-cli` provide it; without them the tests are skipped, except in CI.
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.system import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "app"
# The monitor's side, in milliseconds: check each node every second, with one retry after
# half a second, and a node silent for two seconds is unhealthy.
HEALTH_CHECKS = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 2000,
    # How long the monitor waits for a lost primary to confirm it stopped taking writes before
    # it opens the promoted standby to them (default 30 s). A primary cut off from the monitor
    # cannot commit anyway: its commits wait for the standby, which no longer follows it.
    "pgautofailover.primary_demote_timeout": 2000,
}
# On each data node: a standby told to promote retries reading WAL this often (default 5 s).
NODE_SETTINGS = ("ALTER SYSTEM SET wal_retrieve_retry_interval = 200", "SELECT pg_reload_conf()")
# The keepers' side, in seconds (`pg_autoctl config set`).
KEEPER_TIMEOUTS = {
    "timeout.network_partition_timeout": 5,
    "timeout.prepare_promotion_catchup": 5,
    "timeout.prepare_promotion_walreceiver": 1,
}


def pg_autoctl_or_skip() -> str:
    program = shutil.which("pg_autoctl")
    if program is None or not (PG_BIN / "pg_ctl").exists():
        if os.environ.get("CI"):
            pytest.fail("pg_autoctl is not installed (.ci/run installs it)")
        pytest.skip(
            "pg_auto_failover is not installed "
            "(apt-get install postgresql-15-auto-failover pg-auto-failover-cli)"
        )
    return program


@dataclass
class Node:
    name: str
    port: int
    pgdata: Path
    keeper: "subprocess.Popen[bytes] | None" = None
    # When its postmaster was killed (monotonic), by `lose_primary`.
    lost_at: float | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class AutoFailoverCluster:
    base: Path
    program: str
    user: str | None
    monitor: Node
    nodes: list[Node] = field(default_factory=list)

    # --- URLs ---

    def url(self, *, target_session_attrs: str = "read-write") -> str:
        """Both data nodes in one URL, as libpq and asyncpg take it."""
        hosts = ",".join(node.address for node in self.nodes)
        return (
            f"postgresql://postgres@{hosts}/{DATABASE}?target_session_attrs={target_session_attrs}"
        )

    def node_url(self, node: Node) -> str:
        return f"postgresql://postgres@{node.address}/{DATABASE}"

    @property
    def monitor_url(self) -> str:
        return f"postgresql://autoctl_node@{self.monitor.address}/pg_auto_failover?sslmode=disable"

    # --- processes ---

    def _env(self) -> dict[str, str]:
        # pg_autoctl keeps its configuration and state under XDG directories: ours, in `base`.
        return {
            "PATH": f"{PG_BIN}:/usr/bin:/bin",
            "HOME": str(self.base),
            "XDG_CONFIG_HOME": str(self.base / "config"),
            "XDG_DATA_HOME": str(self.base / "share"),
            "XDG_RUNTIME_DIR": str(self.base / "run"),
            "PG_CONFIG": str(PG_BIN / "pg_config"),
            "PGHOST": "127.0.0.1",
            # What marks a CI step's processes, so its check for leftovers sees ours too.
            **{name: value for name, value in os.environ.items() if name == "BLOG_API_CI_RUN"},
        }

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [self.program, *args],
            user=self.user,
            env=self._env(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"pg_autoctl {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stderr.decode(errors='replace')[-3000:]}"
            )
        return done.stdout.decode()

    def psql(self, port: int, database: str, *statements: str, within: float = 30) -> str:
        """Each statement on its own (ALTER SYSTEM refuses a transaction block), retried while
        the server cannot be reached (psql's exit status 2) for up to `within` seconds."""
        command = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        command += ["-d", database, "-XAtq"]
        command += [arg for statement in statements for arg in ("-c", statement)]
        deadline = time.monotonic() + within
        while True:
            done = subprocess.run(command, capture_output=True, timeout=30, check=False)
            if done.returncode == 0:
                return done.stdout.decode().strip()
            if done.returncode != 2 or time.monotonic() > deadline:
                raise RuntimeError(f"psql: {done.stderr.decode(errors='replace')}")
            time.sleep(0.2)

    def _start_keeper(self, node: Node, *args: str) -> None:
        log = (self.base / f"{node.name}.log").open("ab")
        node.keeper = subprocess.Popen(
            [self.program, *args],
            user=self.user,
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            # A process group of its own, so the keeper and what it starts can be stopped alone.
            start_new_session=True,
        )
        log.close()

    def states(self) -> dict[str, tuple[str, str]]:
        """Each data node's (reported state, goal state), as the monitor sees them."""
        out = self.run("show", "state", "--pgdata", str(self.monitor.pgdata), "--json")
        return {
            entry["nodename"]: (entry["current_group_state"], entry["assigned_group_state"])
            for entry in json.loads(out)
        }

    def wait_for(self, wanted: dict[str, str], *, within: float = 90) -> None:
        """Until each named node reports, and is assigned, the wanted state."""
        deadline = time.monotonic() + within
        found: dict[str, tuple[str, str]] = {}
        while time.monotonic() < deadline:
            with suppress(RuntimeError, json.JSONDecodeError, KeyError):
                found = self.states()
                if all(found.get(name) == (state, state) for name, state in wanted.items()):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"cluster states {found}, wanted {wanted}:\n{self.logs()}")

    def primary(self) -> Node:
        for node in self.nodes:
            if self.states().get(node.name, ("",))[0] in {"single", "primary", "wait_primary"}:
                return node
        raise LookupError(f"no primary: {self.states()}")

    def standby(self) -> Node:
        primary = self.primary()
        return next(node for node in self.nodes if node is not primary)

    def wait_until_healthy(self, *, within: float = 90) -> None:
        """One primary and one secondary, each where the monitor wants it (replicating
        synchronously unless the standby was taken out of the quorum)."""
        deadline = time.monotonic() + within
        found: dict[str, tuple[str, str]] = {}
        while time.monotonic() < deadline:
            with suppress(RuntimeError, json.JSONDecodeError, KeyError):
                found = self.states()
                settled = [now for now, goal in found.values() if now == goal]
                if sorted(settled) == ["primary", "secondary"]:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"cluster states {found}:\n{self.logs()}")

    def lose_primary(self) -> Node:
        """Kill the primary's keeper and then its postmaster with SIGKILL; returns that node."""
        node = self.primary()
        postmaster = _postmaster_pid(node.pgdata)
        _kill_keeper(node)
        if postmaster is not None:
            with suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGKILL)
        node.lost_at = time.monotonic()
        return node

    def revive(self, node: Node) -> None:
        """Start a lost node's keeper again: it rejoins as a standby."""
        self._start_keeper(node, "run", "--pgdata", str(node.pgdata))

    def set_asynchronous(self) -> None:
        """Take every standby out of the write quorum: commits stop waiting for them."""
        standby = self.standby()
        self.run(
            "set",
            "node",
            "replication-quorum",
            "false",
            "--pgdata",
            str(standby.pgdata),
        )
        deadline = time.monotonic() + 60
        primary = self.primary()
        while time.monotonic() < deadline:
            if self.psql(primary.port, DATABASE, "SHOW synchronous_standby_names") == "":
                return
            time.sleep(0.2)
        raise TimeoutError("the primary still waits for its standby")

    def synchronous_standby_names(self) -> str:
        return self.psql(self.primary().port, DATABASE, "SHOW synchronous_standby_names")

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}"
            for log in sorted(self.base.glob("*.log"))
        )

    def processes(self) -> list[int]:
        """Every live process of this cluster: started with its directory in their environment
        (keepers rename themselves, `pg_autoctl: node active`; PostgreSQL inherits it)."""
        marker = str(self.base).encode()
        found = [
            pid
            for pid in _pids()
            if marker in _read(pid, "environ") or marker in _read(pid, "cmdline")
        ]
        for node in (self.monitor, *self.nodes):
            pid = _postmaster_pid(node.pgdata)
            if pid is not None and Path(f"/proc/{pid}").exists():
                found.append(pid)
        return sorted(set(found))


def _wait_for_port(port: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _postmaster_pid(pgdata: Path) -> int | None:
    with suppress(OSError, ValueError, IndexError):
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    return None


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _read(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _kill_keeper(node: Node) -> None:
    """SIGKILL every pg_autoctl process of the node's keeper, leaving PostgreSQL's to the caller.

    They are found by process group (the keeper leads one), again until none is left: the
    supervisor restarts a service it sees die, if it is still alive to see it.
    """
    if node.keeper is None:
        return
    group = node.keeper.pid
    _kill_until_gone(
        lambda: [
            pid
            for pid in _pids()
            if _group(pid) == group and _read(pid, "comm").startswith(b"pg_autoctl")
        ],
        attempts=100,
        pause=0.01,
    )
    with suppress(subprocess.TimeoutExpired):
        node.keeper.wait(timeout=10)
    node.keeper = None


def _kill_until_gone(find: Callable[[], list[int]], *, attempts: int, pause: float) -> None:
    """SIGKILL what `find` lists until it lists nothing (a process may fork meanwhile)."""
    for _ in range(attempts):
        found = find()
        if not found:
            return
        for pid in found:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


@contextmanager
def auto_failover_cluster() -> Iterator[AutoFailoverCluster]:
    """A monitor and two data nodes, node1 the first primary; everything stopped and deleted at
    the end."""
    program = pg_autoctl_or_skip()
    base = Path(tempfile.mkdtemp(prefix="blog-api-ha-"))
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres"
        pwd.getpwnam(user)
        shutil.chown(base, user)
    cluster = AutoFailoverCluster(
        base, program, user, Node("monitor", free_port(), base / "monitor")
    )
    try:
        for directory in ("config", "share", "run"):
            (base / directory).mkdir()
            if user is not None:
                shutil.chown(base / directory, user)
        common = ("--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        common += ("--pgctl", str(PG_BIN / "pg_ctl"))
        monitor = cluster.monitor
        cluster.run(
            "create",
            "monitor",
            "--pgdata",
            str(monitor.pgdata),
            "--pgport",
            str(monitor.port),
            *common,
        )
        # `create` runs PostgreSQL on every address (-h *); loopback only.
        cluster.run(
            "config",
            "set",
            "--pgdata",
            str(monitor.pgdata),
            "postgresql.listen_addresses",
            "127.0.0.1",
        )
        cluster._start_keeper(monitor, "run", "--pgdata", str(monitor.pgdata))
        _wait_for_port(monitor.port)
        cluster.psql(
            monitor.port,
            "pg_auto_failover",
            *(f"ALTER SYSTEM SET {name} = {value}" for name, value in HEALTH_CHECKS.items()),
            "SELECT pg_reload_conf()",
        )
        for n in (1, 2):
            node = Node(f"node{n}", free_port(), base / f"node{n}")
            cluster.nodes.append(node)
            cluster.run(
                "create",
                "postgres",
                "--pgdata",
                str(node.pgdata),
                "--pgport",
                str(node.port),
                "--listen",
                "127.0.0.1",
                "--name",
                node.name,
                "--dbname",
                DATABASE,
                "--monitor",
                cluster.monitor_url,
                *common,
            )
            for name, value in KEEPER_TIMEOUTS.items():
                cluster.run("config", "set", "--pgdata", str(node.pgdata), name, str(value))
            cluster._start_keeper(node, "run", "--pgdata", str(node.pgdata))
            if n == 1:
                cluster.wait_for({"node1": "single"})
                cluster.psql(node.port, DATABASE, *NODE_SETTINGS)
        cluster.wait_until_healthy()
        cluster.psql(cluster.nodes[1].port, DATABASE, *NODE_SETTINGS)
        yield cluster
    finally:
        _stop(cluster)


def _stop(cluster: AutoFailoverCluster) -> None:
    for node in (*cluster.nodes, cluster.monitor):
        if node.keeper is not None:
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                cluster.run("stop", "--pgdata", str(node.pgdata), "--fast", timeout=30)
            with suppress(subprocess.TimeoutExpired):
                node.keeper.wait(timeout=30)
    # Whatever is left (a node lost and never revived leaves its backends; a stuck stop).
    _kill_until_gone(cluster.processes, attempts=50, pause=0.1)
    for node in (*cluster.nodes, cluster.monitor):
        if node.keeper is not None:
            with suppress(subprocess.TimeoutExpired):
                node.keeper.wait(timeout=5)
    shutil.rmtree(cluster.base, ignore_errors=True)
