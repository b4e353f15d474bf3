"""The variants as real server processes: one uvicorn worker each, on a loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOKEN_SECRET = "bench-token-secret-" + "x" * 32
UVICORN = ("-m", "uvicorn", "--host", HOST, "--no-access-log", "--log-level", "warning")


def command(variant: str, port: int) -> list[str]:
    if variant == "ours":
        # Exactly as the service ships: its own CLI, default settings.
        return [sys.executable, "-m", "service", "serve", "--host", HOST, "--port", str(port)]
    module = variant.replace("-", "_")
    return [sys.executable, *UVICORN, "--port", str(port), f"bench.variants.{module}:app"]


VARIANTS = ("ours", "orm-sync", "orm-async", "floor")


@dataclass
class Server:
    variant: str
    port: int
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, log_dir: Path) -> None:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, self.port)) == 0:
                raise SystemExit(f"port {self.port} is taken; pass another --base-port")
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "TOKEN_SECRET": TOKEN_SECRET,
            "LOG_LEVEL": "warning",
        }
        env.pop("PORT", None)
        self.log = log_dir / f"{self.variant}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command(self.variant, self.port),
                cwd=ROOT,
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

    def rss_mib(self) -> float:
        """Resident memory of the server process, from /proc."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kib / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process (all its threads), from /proc."""
        assert self.process is not None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
