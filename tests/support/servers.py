"""The service run in process on a real pool, or as a real server process."""

import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx import ASGITransport, AsyncClient

from service.api.app import create_app
from service.db.database import Database
from service.settings import Settings
from service.testing.app import TOKEN_SECRET, settings_for
from tests.support.project import PROJECT_ROOT
from tests.support.system import free_port
from tests.support.waiting import eventually


@asynccontextmanager
async def in_process(
    url: str, *, settings: Settings | None = None, **pool: Any
) -> AsyncIterator[AsyncClient]:
    """The app on a real pool of its own (it really commits), driven through ASGI in this task.

    An exception escaping the app becomes the 500 a real server would send.
    """
    app = create_app(settings or settings_for(url), database=Database(url, **pool))
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


@dataclass
class Server:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **options: Any) -> AsyncClient:
        return AsyncClient(base_url=self.base_url, **options)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@asynccontextmanager
async def serving(url: str, *, dotenv: str | None = None, **settings: str) -> AsyncIterator[Server]:
    """`python -m service serve` on a free loopback port, in a process group of its own, stopped
    at the end (see `stop`) if still running; `dotenv` is the text of a `.env` file in the
    folder it starts in."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": url,
        "TOKEN_SECRET": TOKEN_SECRET,
        "MIGRATE_ON_START": "false",
        "LOG_LEVEL": "warning",
        # Off unless asked for: tests that read right after a write expect that write.
        "READ_CACHE": "false",
        **settings,
    }
    with tempfile.TemporaryDirectory(prefix="blog-api-serve-") as workdir:
        log = Path(workdir) / "server.log"
        if dotenv is not None:
            (Path(workdir) / ".env").write_text(dotenv)
        with log.open("wb") as out:
            # A directory of its own, so no stray .env is read.
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service",
                "serve",
                "--port",
                str(port),
                cwd=workdir,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(process, port, log)
        try:
            await _wait_until_live(server)
            yield server
        finally:
            await stop(process)


# How long a served process gets to stop by itself on SIGTERM before its group is killed.
STOP_TIMEOUT = 15


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM and a wait, then SIGKILL to the process's whole group (it must lead one, see
    `start_new_session`): killing only the leader would leave its worker processes running."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


async def _wait_until_live(server: Server) -> None:
    async def live() -> bool:
        if server.process.returncode is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            async with server.client(timeout=1) as client:
                return (await client.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(live, within=30, what="the server to start", interval=0.1)
