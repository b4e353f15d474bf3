"""Driving the servers: wrk for load, plain HTTP for the byte-for-byte check."""

import argparse
import dataclasses
import http.client
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.servers import HOST, Server

LUA = Path(__file__).resolve().parent / "wrk.lua"
WRITES_LUA = Path(__file__).resolve().parent / "wrk_writes.lua"


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian/Ubuntu)")


@dataclass(frozen=True)
class Target:
    """A path, with {id} replaced per request by a random integer from 1 to max_id and {slug}
    by a random line of the file `slugs`; sent with one of `authorization` at random."""

    path: str
    max_id: int = 1
    slugs: str = ""
    authorization: tuple[str, ...] = ()
    # For bench/wrk_writes.lua: its mode (post, patch, me) and what it needs (see that file).
    write: str = ""
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    timeouts: int = 0
    # CPU time the server spent per request, when measured.
    cpu_us: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk(
    port: int,
    targets: list[Target],
    *,
    seconds: float,
    connections: int = 32,
) -> Run:
    env = {
        **os.environ,
        "BENCH_TARGETS": ";".join(f"{t.path}|{t.max_id}" for t in targets),
    }
    if targets[0].slugs:
        env["BENCH_SLUGS"] = targets[0].slugs
    if targets[0].authorization:
        env["BENCH_AUTHORIZATION"] = ";".join(targets[0].authorization)
    script = LUA
    if targets[0].write:
        [target] = targets
        script = WRITES_LUA
        env |= {"BENCH_WRITE": target.write, **dict(target.env)}
    command = [
        *("wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "5s"),
        *("-s", str(script), f"http://{HOST}:{port}"),
    ]
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("BENCH "))
    # A slow answer (over wrk's 5 s timeout) is counted; a failed or non-2xx one is fatal.
    errors = {k: result[k] for k in result if k.endswith(("errors", "non_2xx"))}
    if any(errors.values()):
        raise SystemExit(f"wrk saw failures on port {port} for {targets}: {errors}")
    return Run(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        mean_ms=result["mean_us"] / 1000,
        timeouts=result["timeouts"],
    )


def measure(server: Server, target: list[Target], args: argparse.Namespace) -> Run:
    """A warm-up, then a timed run, with the server's CPU time per request."""
    if args.warmup:
        wrk(server.port, target, seconds=args.warmup, connections=args.connections)
    cpu = server.cpu_seconds()
    run = wrk(server.port, target, seconds=args.seconds, connections=args.connections)
    cpu = server.cpu_seconds() - cpu
    return dataclasses.replace(run, cpu_us=cpu / max(run.requests, 1) * 1e6)


def get(port: int, path: str) -> tuple[int, bytes]:
    status, _, body = request(port, "GET", path)
    return status, body


def request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request; the response's headers with lower-case names."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        got = {name.lower(): value for name, value in response.getheaders()}
        return response.status, got, response.read()
    finally:
        conn.close()
