"""`serve` with several worker processes behind one port, on an external and on the embedded
PostgreSQL: everything a client can see is shared (limits, tokens, cursors, ETags), whichever
worker answers."""

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.testing.accounts import sign_up_with
from service.testing.databases import ScratchDatabase
from tests.support.servers import Server, serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

WORKERS = 4


@pytest.fixture
async def server(scratch_database: ScratchDatabase) -> AsyncIterator[Server]:
    url = await scratch_database()
    async with serving(url, WORKERS=str(WORKERS), DB_POOL_MAX_SIZE="4") as server:
        yield server


async def _each_on_a_new_connection(
    server: Server, count: int, method: str, path: str, **options: object
) -> list[httpx.Response]:
    """`count` requests at once, each on a connection of its own, so the kernel spreads them
    over the workers."""

    async def one() -> httpx.Response:
        async with server.client(timeout=30) as client:
            return await client.request(method, path, **options)  # type: ignore[arg-type]

    return await asyncio.gather(*(one() for _ in range(count)))


async def test_concurrent_wrong_passwords_over_workers_get_exactly_the_limit(
    server: Server,
) -> None:
    async with server.client(timeout=30) as client:
        victim = await sign_up_with(client)
    answers = await _each_on_a_new_connection(
        server,
        20,
        "POST",
        "/auth/token",
        data={"username": victim.email, "password": "wrong password"},
    )
    assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 15


async def test_tokens_cursors_and_etags_from_one_worker_work_at_every_other(
    server: Server,
) -> None:
    async with server.client(timeout=30) as client:
        user = await sign_up_with(client)
        for n in range(3):
            await client.post("/blogs", json={"title": f"t{n}", "body": "b"}, headers=user.headers)
        first = await client.get("/blogs", params={"limit": 1})
        blog = (await client.get(f"/blogs/{first.json()['items'][0]['id']}")).json()
        etag = (await client.get(f"/blogs/{blog['id']}")).headers["ETag"]
    cursor = first.json()["next_cursor"]

    tokens = await _each_on_a_new_connection(server, 24, "GET", "/users/me", headers=user.headers)
    assert {r.status_code for r in tokens} == {200}
    pages = await _each_on_a_new_connection(
        server, 24, "GET", "/blogs", params={"limit": 1, "cursor": cursor}
    )
    assert {r.status_code for r in pages} == {200}
    assert len({r.json()["items"][0]["id"] for r in pages}) == 1
    cached = await _each_on_a_new_connection(
        server, 24, "GET", f"/blogs/{blog['id']}", headers={"If-None-Match": etag}
    )
    assert {r.status_code for r in cached} == {304}


async def test_auto_workers_on_the_embedded_server_share_tokens_and_stop_cleanly() -> None:
    # DATABASE_URL empty: serve starts the embedded PostgreSQL in the server's own folder.
    async with serving("", WORKERS="auto", MIGRATE_ON_START="true") as server:
        async with server.client(timeout=30) as client:
            user = await sign_up_with(client)
        answers = await _each_on_a_new_connection(
            server, 12, "GET", "/users/me", headers=user.headers
        )
        assert {r.status_code for r in answers} == {200}
        pid_file = next(server.log.parent.glob(".pgdata/server/postmaster.pid"))
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), timeout=30) == 0
        # The embedded server stopped with the service (its folder is still here).
        await eventually(lambda: _gone(pid_file), within=10, what="the embedded server to stop")


async def _gone(path: Path) -> bool:
    return not await asyncio.to_thread(path.exists)


async def test_workers_exit_and_free_the_port_when_serve_is_killed(
    scratch_database: ScratchDatabase, tmp_path: Path
) -> None:
    url = await scratch_database()
    # A killed serve cannot remove the metrics folder it would make: give it one pytest removes.
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    async with serving(url, WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(metrics)) as server:
        serve = server.process.pid
        workers = _children(serve)
        assert len(workers) >= 2, workers  # the two workers (and the resource tracker)
        server.process.send_signal(signal.SIGKILL)
        await server.process.wait()

        async def all_gone() -> bool:
            return not any(map(_alive, workers)) and _port_free(server.port)

        await eventually(all_gone, within=5, what=f"the workers {workers} to exit")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rpartition(")")[2].split()[1])
            except OSError:
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    """Still running: neither gone nor a zombie (an orphan is reaped by whoever adopted it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def test_with_json_logs_every_line_from_the_first_is_a_json_object(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database(migrated=False)
    # Migrations at start and a random secret's warning: lines serve writes before the workers.
    settings = {"LOG_FORMAT": "json", "LOG_LEVEL": "info", "MIGRATE_ON_START": "true"}
    async with serving(url, WORKERS="2", TOKEN_SECRET="", **settings) as server:
        async with server.client(timeout=30) as client:
            assert (await client.get("/blogs")).status_code == 200
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.process.wait(), timeout=30) == 0
        lines = server.log.read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON object: {line!r}")
    assert all(isinstance(record, dict) for record in records)
    messages = [record["message"] for record in records]
    assert any(m.startswith("applied 0001_") for m in messages), messages
    assert any("TOKEN_SECRET is not set" in m for m in messages), messages
    assert any(m.startswith("serving on http://127.0.0.1:") for m in messages), messages
