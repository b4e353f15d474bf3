"""Profile `ours` under load with py-spy and say where each request's time goes."""

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.load import Target, wrk
from bench.servers import Server

RATE = 200  # samples per second

# Where a sample's time goes: the first of these matching any frame of its stack ...
BUCKETS = (
    ("metrics: prometheus_client (request, pool, statement)", r"prometheus_client/"),
    (
        "db wrapper: connection checkout + release (get_db, Databases, Connection._acquire,"
        " databases, asyncpg pool)",
        r"Connection\._acquire|Connection\._release|Connection\.__a(enter|exit)__ \(databases"
        r"|Database\.connection \(service|Databases\.(reading|writing)|get_db \(service"
        r"|asyncpg/pool\.py",
    ),
    ("asyncpg: run the statement (bind, execute, decode rows)", r"asyncpg/|Connection\._run "),
    ("db wrapper: named queries (args, timing, fallback)", r"service/db/"),
    ("databases: Core statement compile + run", r"databases/"),
    ("ETag: hash + If-None-Match", r"(blog_etag|content_etag|none_match) \(service/api/etags"),
    (
        "response: model to JSON bytes + Response",
        r"json_response \(service/api/etags|serialize_response|jsonable_encoder",
    ),
    (
        "models: rows to pydantic (Blog, Owner, BlogPage)",
        r"pydantic/|^_blog \(service|^_page \(service|blog_page \(service|split_page",
    ),
    ("cursor sign + encode", r"CursorCodec"),
    (
        "threadpool hops (sync dependencies)",
        r"run_in_threadpool|anyio/to_thread|Thread\._bootstrap",
    ),
    (
        "FastAPI: solve dependencies + validate parameters (+ exit stacks)",
        r"solve_dependencies|request_params_to_args|AsyncExitStack\.",
    ),
)
# ... or else the kind of the deepest frame matching one of these (middleware sits above all).
FALLBACK = (
    ("ours: Observe middleware (request id, context, timing)", r"middleware/observe\.py"),
    ("ours: SecurityHeaders middleware", r"middleware/security_headers\.py"),
    ("ours: EarlyRefusals middleware", r"middleware/early_refusals\.py"),
    ("ours: RequestBodyLimits middleware", r"middleware/body_limit\.py"),
    (
        "the server: HTTP parse + write (uvicorn, or granian's ASGI glue)",
        r"uvicorn/protocols/|cli/http_protocol|granian/",
    ),
    ("service: routes + data functions, other", r"service/(?!cli/|__main__)"),
    ("FastAPI telemetry checks", r"fastapi/telemetry/|opentelemetry"),
    ("FastAPI + Starlette: routing + endpoint call", r"starlette/routing\.py|fastapi/routing\.py"),
    (
        "FastAPI + Starlette: middleware stack + exception handling",
        r"starlette/middleware/|starlette/_exception_handler|fastapi/middleware/"
        r"|fastapi/_body_limit|starlette/applications|fastapi/applications",
    ),
    ("FastAPI + Starlette: requests, responses, other", r"fastapi/|starlette/"),
)


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    return found


def _package(frame: str) -> str:
    """`fastapi` for a frame `solve_dependencies (fastapi/dependencies/utils.py:570)`."""
    where = frame.rpartition("(")[2]
    return where.split("/")[0].split(".py")[0] if "/" in where or ".py" in where else "native"


def bucket(frames: tuple[str, ...]) -> str:
    for label, pattern in BUCKETS:
        if any(re.search(pattern, frame) for frame in frames):
            return label
    for frame in reversed(frames):
        for label, pattern in FALLBACK:
            if re.search(pattern, frame):
                return label
    return "event loop (uvloop) + asyncio, other"


def summarize(stacks: Counter[tuple[str, ...]], requests: int, top: int = 25) -> dict[str, Any]:
    total = sum(stacks.values())
    busy_us = total / RATE / max(requests, 1) * 1e6
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for frames, count in stacks.items():
        buckets[bucket(frames)] += count
        leaf[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": f, "share": c / total, "us_per_request": c / total * busy_us}
            for f, c in counter.most_common(top)
        ]

    return {
        "samples": total,
        "busy_us_per_request": busy_us,
        "self": shares(leaf),
        "inclusive": shares(inclusive),
        "self_by_package": shares(packages),
        "buckets": shares(buckets),
    }


def _print(summary: dict[str, Any]) -> None:
    print(
        f"\n{summary['samples']} samples; {summary['busy_us_per_request']:.0f} us of CPU a request"
    )
    for title, key in (
        ("where a request's time goes", "buckets"),
        ("self time by package", "self_by_package"),
        ("self time (leaf frames)", "self"),
        ("inclusive time", "inclusive"),
    ):
        print(f"\n{title}:")
        for row in summary[key]:
            print(f"  {row['share']:6.1%} {row['us_per_request']:7.1f} us  {row['frame']}")


def profile(
    server: Server, targets: list[Target], args: argparse.Namespace, out_dir: Path
) -> dict[str, Any]:
    py_spy = _py_spy()
    assert server.process is not None
    wrk(server.port, targets, seconds=5, connections=args.connections)
    seconds = args.profile_seconds
    raw = out_dir / f"profile-{args.profile}.txt"
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(
            wrk, server.port, targets, seconds=seconds + 4, connections=args.connections
        )
        time.sleep(2)
        subprocess.run(  # noqa: S603
            [
                *(py_spy, "record", "--pid", str(server.worker_pid()), "--duration", str(seconds)),
                *("--rate", str(RATE), "--format", "raw", "--function", "--output", str(raw)),
                # Only samples holding the GIL: the CPU the server spends, not its waits.
                *("--gil", "--nonblocking"),
            ],
            check=True,
            capture_output=True,
            timeout=seconds + 60,
        )
        run = load.result()
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks[tuple(stack.split(";"))] += int(count)
    summary = summarize(stacks, requests=round(run.rps * seconds))
    print(f"{args.profile}: {run.rps:,.0f} req/s while profiled; collapsed stacks in {raw}")
    _print(summary)
    return {"endpoint": args.profile, "rps": run.rps, "profile": summary, "stacks": str(raw)}
