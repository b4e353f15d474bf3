"""The variants as real server processes: one worker each, on a loopback port.

A variant is named `BASE[@REV][+KEY=VALUE...]`:

- BASE is one of `STACKS` (ours, ours-granian, the floors, the ORM stacks);
- `@REV` (ours only) serves the service as it was at a commit: `git archive REV` extracted
  under bench/results/trees/, run from there with this checkout's virtualenv, and with
  MIGRATE_ON_START=false, since the database is migrated by this checkout's code;
- each `+KEY=VALUE` is set in that server's environment (`ours+ACCESS_LOG=false`).
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TREES = ROOT / "bench" / "results" / "trees"
HOST = "127.0.0.1"
TOKEN_SECRET = "bench-token-secret-" + "x" * 32
UVICORN = ("-m", "uvicorn", "--host", HOST, "--no-access-log", "--log-level", "warning")
# granian's defaults but for the interface, the factory and uvloop (what uvicorn picks here).
GRANIAN = ("-m", "granian", "--interface", "asgi", "--loop", "uvloop", "--workers", "1")
GRANIAN_LOG = ("--log-level", "warning")

# What each base variant serves: a module's app for uvicorn, or the service's own commands.
STACKS = {
    "ours": "service",
    "ours-granian": "service.api.app:create_app",
    "floor": "bench.variants.floor:app",
    "fastapi-floor-yield": "bench.variants.fastapi_floor:app_yield",
    "fastapi-floor-handler": "bench.variants.fastapi_floor:app_handler",
    "orm-async": "bench.variants.orm_async:app",
    "orm-sync": "bench.variants.orm_sync:app",
}
VARIANTS = tuple(STACKS)
_NAME = re.compile(
    r"^(?P<base>[a-z-]+)(?:@(?P<rev>[\w.^~/-]+))?(?P<env>(?:\+[A-Z_][A-Z0-9_]*=[^+]*)*)$"
)


@dataclass(frozen=True)
class Spec:
    name: str
    base: str
    rev: str | None = None
    env: tuple[tuple[str, str], ...] = ()


def parse(name: str) -> Spec:
    match = _NAME.match(name)
    if match is None or match["base"] not in STACKS:
        raise ValueError(f"{name!r}: not BASE[@REV][+KEY=VALUE...] with BASE from {VARIANTS}")
    if match["rev"] and match["base"] != "ours":
        raise ValueError(f"{name!r}: only ours can be served at another commit")
    pairs = (pair.partition("=") for pair in match["env"].split("+") if pair)
    return Spec(name, match["base"], match["rev"], tuple((k, v) for k, _, v in pairs))


def own_database(variant: str) -> bool:
    """Ours at another commit on a database of its own: seeded at another moment, so its rows'
    timestamps differ from ours (the seed dates rows back from its start)."""
    spec = parse(variant)
    return spec.rev is not None and "DATABASE_URL" in dict(spec.env)


def without_times(content: Any) -> Any:
    """JSON less every `*_at` field, for comparing with a variant on a database of its own."""
    if isinstance(content, dict):
        return {k: without_times(v) for k, v in content.items() if not k.endswith("_at")}
    if isinstance(content, list):
        return [without_times(item) for item in content]
    return content


def _git(*args: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", "-C", str(ROOT), *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def tree(rev: str) -> Path:
    """The service's files at commit `rev`, extracted once (git archive: no change to the repo)."""
    sha = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    target = TREES / sha[:12]
    if (target / "service" / "__init__.py").exists():
        return target
    TREES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=TREES) as scratch:
        archive = Path(scratch) / "tree.tar"
        with archive.open("wb") as out:
            subprocess.run(["git", "-C", str(ROOT), "archive", sha], stdout=out, check=True)  # noqa: S603, S607
        unpacked = Path(scratch) / "tree"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        unpacked.rename(target)
    return target


def command(spec: Spec, port: int) -> list[str]:
    if spec.base == "ours":
        # Exactly as the service ships: its own CLI, default settings.
        return [sys.executable, "-m", "service", "serve", "--host", HOST, "--port", str(port)]
    if spec.base == "ours-granian":
        where = ("--host", HOST, "--port", str(port), "--factory")
        return [sys.executable, *GRANIAN, *GRANIAN_LOG, *where, STACKS[spec.base]]
    return [sys.executable, *UVICORN, "--port", str(port), STACKS[spec.base]]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        tree.setdefault(int(stat[1]), []).append(int(entry.name))
    return tree


@dataclass
class Server:
    variant: str
    port: int
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def spec(self) -> Spec:
        return parse(self.variant)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def database(self) -> str:
        """The database it serves: the run's, or the one its `+DATABASE_URL=` names (a copy of
        the run's database at an older migration, for ours at an older commit)."""
        return dict(self.spec.env).get("DATABASE_URL", self.database_url)

    def start(self, log_dir: Path) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                raise SystemExit(f"port {self.port} is taken; pass another --base-port")
        spec = self.spec
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TOKEN_SECRET": TOKEN_SECRET,
            "LOG_LEVEL": "warning",
            # The write benchmarks send thousands of writes a second as a few users: measured
            # here is what a write costs, not the per-user limit (tests/test_limits.py has that).
            "WRITE_MAX_PER_USER": "1000000000",
        }
        env.pop("PORT", None)
        cwd = ROOT
        if spec.rev:
            cwd = tree(spec.rev)
            env["PYTHONPATH"] = str(cwd)
            env["MIGRATE_ON_START"] = "false"
        env.update(spec.env)
        self.log = log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', self.variant)}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command(spec, self.port),
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.variant} exited; see {self.log}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.variant} did not answer {path} within {timeout:.0f}s")

    def pids(self) -> list[int]:
        """The server process and all its descendants (granian serves from a child process)."""
        assert self.process is not None
        children = _children()
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, ()))
        return found

    def worker_pid(self) -> int:
        """The process that runs the app: the deepest Python descendant."""
        return self.pids()[-1]

    def rss_mib(self) -> float:
        """Resident memory of the server's processes, from /proc."""
        kib = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kib += next(
                (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")),
                0,
            )
        return kib / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server's processes (all threads), from /proc."""
        ticks = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += int(stat[11]) + int(stat[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGINT and a wait, then SIGKILL to the server's whole process group (it leads one):
        killing only the leader would leave its workers running."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=5)
