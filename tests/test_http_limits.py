"""Limits that keep a hostile client from holding a server process, against a real server.

`python -m service serve` runs in a subprocess on a scratch database, with small limits from the
environment; slow and oversized clients are raw sockets (asyncio streams), since an HTTP client
would refuse to misbehave. The server is TEST_DATABASE_URL's, or PostgreSQL on 127.0.0.1:5432.

The request head's limits and the connection cap are our uvicorn protocol's
(`service.cli.http_protocol`), the body's are the app's; every refusal is a JSON answer.
"""

import asyncio
import contextlib
import json
import logging
import logging.config
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.server import ServerState

from service.cli.http_protocol import LimitedHttpToolsProtocol, process_limits
from service.cli.main import main
from service.db.urls import asyncpg_dsn
from tests.support.servers import serving

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
TOKEN_SECRET = "http-limits-test-secret-" + "x" * 32
PASSWORD = "correct horse battery"

MAX_HEADER_BYTES = 8192
MAX_HEADERS = 20
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 1.0
MAX_CONNECTIONS = 5
SIGNUP_MAX_PER_ADDRESS = 3
MAX_BODY_BYTES = 100_000
MAX_BODY_BYTES_IN_FLIGHT = 250_000
LIMITS = {
    "MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
    "MAX_HEADERS": str(MAX_HEADERS),
    "HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
    "BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    "MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "SIGNUP_MAX_PER_ADDRESS": str(SIGNUP_MAX_PER_ADDRESS),
}
# How late a refusal may come after its deadline, on a slow machine.
MARGIN = 1.5
# How long any raw exchange may take at all.
REPLY_TIMEOUT = 15
# How long a reply's connection may take to be closed after it.
CLOSE_WAIT = 5.0
# Slow bodies at once, within MAX_CONNECTIONS.
SLOW_BODIES = MAX_CONNECTIONS - 1


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# The scratch database


def _admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return asyncpg_dsn(url)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_admin_url(), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    name = f"blog_http_limits_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL to make a scratch database in: {exc}")
    try:
        yield urlsplit(_admin_url())._replace(path=f"/{name}").geturl()
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# The server


@dataclass
class Server:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not answer /health in time:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    port = _free_port()
    env = os.environ | LIMITS
    # FORWARDED_ALLOW_IPS unset, as by default: our setting is then empty (trust no proxy), and
    # uvicorn, left to itself, would trust 127.0.0.1, where the tests connect from.
    env.pop("FORWARDED_ALLOW_IPS", None)
    env |= {
        # Run from elsewhere, so that no `.env` in the checkout changes the settings.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        "DATABASE_URL": database_url,
        "TOKEN_SECRET": TOKEN_SECRET,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
        "LOG_LEVEL": "warning",
    }
    with tempfile.TemporaryDirectory(prefix="blog-http-limits-") as directory:
        log = Path(directory) / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve"],
                env=env,
                cwd=directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its group is killed if it does not stop
            )
        try:
            server = Server("127.0.0.1", port)
            _wait_until_healthy(process, server.url, log)
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


# Raw HTTP


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float  # from connecting to the end of the reply
    closed: bool  # the server ended the connection after it

    def json(self) -> Any:
        return json.loads(self.body)


def _parse(data: bytes, elapsed: float, closed: bool) -> Reply:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), headers, body, elapsed, closed)


async def _read_reply(
    reader: asyncio.StreamReader, *, check_closed: bool = True
) -> tuple[bytes, bool]:
    """One reply with a Content-Length body, and whether the server then closed the connection
    (checked unless `check_closed` is false, when more replies are to come)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return head + body, check_closed and await _closed_after(reader)


async def _closed_after(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (with nothing more sent) within CLOSE_WAIT."""
    try:
        # EOF ends the wait at once; the bound only matters when the server keeps it open.
        return await asyncio.wait_for(reader.read(1), CLOSE_WAIT) == b""
    except TimeoutError:
        return False


async def exchange(server: Server, data: bytes, *, pause: float | None = None) -> Reply:
    """Send `data` (all at once, or a byte per `pause` seconds) while reading the reply."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    started = time.monotonic()

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            if pause is None:
                writer.write(data)
                await writer.drain()
                return
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(pause)

    sender = asyncio.create_task(send())
    try:
        raw, closed = await asyncio.wait_for(_read_reply(reader), REPLY_TIMEOUT)
        return _parse(raw, time.monotonic() - started, closed)
    except ConnectionError:
        # Closed while we were still sending: TCP then resets, and a reply already sent may
        # be discarded unread. Status 0 stands for that: no reply, connection gone.
        return Reply(0, {}, b"", time.monotonic() - started, closed=True)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def get(path: str, *headers: bytes) -> bytes:
    lines = [f"GET {path} HTTP/1.1".encode(), b"Host: test", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def assert_still_serving(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/blogs")).status_code == 200


def assert_refused(reply: Reply, status: int, detail: str, *, closed: bool = True) -> None:
    assert reply.status == status, reply
    assert reply.json() == {"detail": detail}
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["connection"] == "close"
    assert reply.headers["x-content-type-options"] == "nosniff"
    if closed:
        assert reply.closed, "the server kept the connection open"


TOO_LARGE = "request header fields too large"


def assert_head_refused(reply: Reply) -> None:
    """431 and the connection closed; or a reset under a client still sending, the 431 lost
    with it (status 0)."""
    if reply.status != 0:
        assert_refused(reply, 431, TOO_LARGE)


# The request head


async def test_a_huge_header_is_431_and_the_connection_closed(
    server: Server, client: httpx.AsyncClient
) -> None:
    reply = await exchange(server, get("/health", b"X-Big: " + b"a" * 1024 * 1024))
    assert_head_refused(reply)
    await assert_still_serving(client)


async def test_an_unfinished_header_line_is_refused_as_it_arrives(server: Server) -> None:
    """The parser holds a header line back until it ends: the reads are counted, not just the
    lines, so a line that never ends is refused long before the head deadline."""
    reply = await exchange(server, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 256 * 1024)
    assert_head_refused(reply)
    assert reply.elapsed < HEADER_TIMEOUT / 2


async def test_a_head_over_the_byte_limit_in_one_read_is_431(
    server: Server, client: httpx.AsyncClient
) -> None:
    under = await exchange(server, get("/health", b"X-Big: " + b"a" * (MAX_HEADER_BYTES // 2)))
    assert under.status == 200
    over = await exchange(server, get("/health", b"X-Big: " + b"a" * MAX_HEADER_BYTES))
    assert_head_refused(over)
    long_url = await exchange(server, get("/health?q=" + "a" * MAX_HEADER_BYTES))
    assert_head_refused(long_url)
    await assert_still_serving(client)


def _headers(count: int) -> list[bytes]:
    return [b"X-H%d: v" % i for i in range(count)]


async def test_more_headers_than_max_headers_is_431(
    server: Server, client: httpx.AsyncClient
) -> None:
    # Host is one of them.
    assert (await exchange(server, get("/health", *_headers(MAX_HEADERS - 1)))).status == 200
    reply = await exchange(server, get("/health", *_headers(MAX_HEADERS)))
    assert_refused(reply, 431, TOO_LARGE)
    await assert_still_serving(client)


async def test_bodies_and_pipelined_requests_do_not_count_as_head(server: Server) -> None:
    """A body bigger than the head limit, and requests after it, all in one write."""
    body = json.dumps({"title": "t", "body": "b" * 3 * MAX_HEADER_BYTES}).encode()
    post = (
        b"POST /blogs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body
    # A head split over writes, after the body.
    heads = [post, get("/health")[:10], get("/health")[10:] + get("/blogs") + get("/health")]
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        for data in heads:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(0.05)
        statuses = []
        for _ in range(4):
            raw, _ = await asyncio.wait_for(_read_reply(reader, check_closed=False), REPLY_TIMEOUT)
            statuses.append(_parse(raw, 0, False).status)
        assert statuses == [401, 200, 200, 200]  # anonymous POST /blogs: read in full, then 401
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


HEAD_TOO_SLOW = "request headers not received in time"


def assert_at_the_head_deadline(reply: Reply) -> None:
    assert_refused(reply, 408, HEAD_TOO_SLOW)
    assert HEADER_TIMEOUT - 0.2 <= reply.elapsed <= HEADER_TIMEOUT + MARGIN, reply.elapsed


async def test_a_slow_head_is_cut_off_with_408(server: Server, client: httpx.AsyncClient) -> None:
    # 1 byte per 0.2 s: it would take about 12 s to send.
    head = get("/health", b"X-Slow: " + b"a" * 30)
    assert_at_the_head_deadline(await exchange(server, head, pause=0.2))
    await assert_still_serving(client)


async def test_a_silent_connection_is_cut_off_with_408(server: Server) -> None:
    assert_at_the_head_deadline(await exchange(server, b""))


async def test_a_kept_alive_connection_gets_a_new_head_deadline_per_request(
    server: Server,
) -> None:
    """The deadline runs from each request's first byte: an idle kept-alive connection is
    served when its next request comes, a slow head on it is cut off."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(get("/health"))
        raw, _ = await _read_reply(reader, check_closed=False)
        assert _parse(raw, 0, False).status == 200
        # Idle past the head deadline (uvicorn's keep-alive timeout, 5 s, applies here): the
        # next request's deadline starts at its first byte.
        await asyncio.sleep(HEADER_TIMEOUT + 0.5)
        writer.write(get("/health"))
        raw, _ = await _read_reply(reader, check_closed=False)
        assert _parse(raw, 0, False).status == 200
        # A slow head on the same connection is still cut off.
        started = time.monotonic()
        writer.write(b"GET /health HTTP/1.1\r\n")
        deadline = HEADER_TIMEOUT + MARGIN + 1
        raw, _ = await asyncio.wait_for(_read_reply(reader, check_closed=False), deadline)
        elapsed = time.monotonic() - started
        assert_at_the_head_deadline(_parse(raw, elapsed, await _closed_after(reader)))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


class _Transport(asyncio.Transport):
    """Just enough of a TCP transport to drive the protocol by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_a_pipelined_head_over_the_limit_waits_for_the_response_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No 431 in the middle of the previous response: that one ends, then the connection."""
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    monkeypatch.setenv("MAX_HEADER_BYTES", str(MAX_HEADER_BYTES))
    process_limits.cache_clear()
    try:
        config = uvicorn.Config(app, proxy_headers=False, log_level="warning")
        config.load()
        protocol = LimitedHttpToolsProtocol(config, ServerState(), {})
        transport = _Transport()
        protocol.connection_made(transport)
        big = b"X-Big: " + b"a" * MAX_HEADER_BYTES
        protocol.data_received(get("/first") + get("/second", big))
        await asyncio.sleep(0.05)
        assert transport.written == b""
        release.set()
        await asyncio.sleep(0.05)
        assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"connection: close\r\n" in transport.written
        assert transport.written.endswith(b"\r\n\r\n2\r\nok\r\n0\r\n\r\n")  # nothing after it
        assert transport.closed
        protocol.connection_lost(None)
    finally:
        process_limits.cache_clear()


# The request body


async def _slow_body_reply(server: Server) -> Reply:
    """A sign-up whose body stops coming after a few bytes, well before its deadline."""
    body = json.dumps({"name": "Slow", "email": "slow@example.com", "password": PASSWORD})
    head = (
        "POST /users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head)
    started = time.monotonic()

    async def trickle() -> None:
        # A byte every 0.2 s, then nothing, well before the deadline: the server closes at once
        # after a `connection: close` reply, and a byte landing just then would turn its FIN into
        # a reset that can cost the client the reply (a client still sending may see that).
        with contextlib.suppress(ConnectionError):
            for byte in body.encode()[: int(BODY_TIMEOUT / 0.2) - 2]:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)

    sender = asyncio.create_task(trickle())
    try:
        deadline = BODY_TIMEOUT + MARGIN + 5
        raw, _ = await asyncio.wait_for(_read_reply(reader, check_closed=False), deadline)
        elapsed = time.monotonic() - started
        return _parse(raw, elapsed, await _closed_after(reader))
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_slow_body_is_cut_off_with_408(server: Server, client: httpx.AsyncClient) -> None:
    reply = await _slow_body_reply(server)
    assert_refused(reply, 408, "request body not received in time", closed=False)
    assert reply.elapsed <= BODY_TIMEOUT + MARGIN
    # The sign-up never happened.
    token = await client.post(
        "/auth/token", data={"username": "slow@example.com", "password": PASSWORD}
    )
    assert token.status_code == 401
    await assert_still_serving(client)


async def test_the_connection_of_a_slow_body_is_closed_after_its_408(server: Server) -> None:
    """The 408 says `connection: close`, and the connection must then end: one kept open for the
    rest of the body holds a place under MAX_CONNECTIONS for as long as the client likes.
    Several at once, since a server may keep only some of them (granian does: README)."""
    replies = await asyncio.gather(*(_slow_body_reply(server) for _ in range(SLOW_BODIES)))
    assert [reply.status for reply in replies] == [408] * SLOW_BODIES, replies
    kept_open = [reply for reply in replies if not reply.closed]
    assert not kept_open, f"the server kept {len(kept_open)} of {SLOW_BODIES} connections open"


async def test_a_body_sent_in_time_is_read(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": '
        await asyncio.sleep(BODY_TIMEOUT / 4)
        yield b'"t", "body": "b"}'

    # Anonymous: the body is read in full (then 401), not cut off.
    response = await client.post(
        "/blogs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 401


async def test_bodies_being_received_at_once_are_bounded_per_worker(database_url: str) -> None:
    """Clients that each start a large body and never finish it hold it in memory until the
    body deadline: past MAX_BODY_BYTES_IN_FLIGHT, a large body is refused at once (503), a
    small one still fits, and once the held ones go a large one is read again. A server of its
    own, with a body deadline long enough for a loaded machine."""
    head = (
        b"POST /blogs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n"
    )
    large = json.dumps({"title": "t", "body": "b" * (MAX_BODY_BYTES - 100)}).encode()
    async with serving(
        database_url,
        MIGRATE_ON_START="true",
        MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        MAX_BODY_BYTES_IN_FLIGHT=str(MAX_BODY_BYTES_IN_FLIGHT),
        BODY_TIMEOUT_SECONDS="30",
    ) as served:
        server = Server("127.0.0.1", served.port)
        held = [await asyncio.open_connection(server.host, server.port) for _ in range(2)]
        try:
            for _, writer in held:
                writer.write(head % MAX_BODY_BYTES + b"{" + b" " * 1000)
                await writer.drain()
            await asyncio.sleep(1)  # both are being received
            busy = await exchange(server, head % MAX_BODY_BYTES)
            assert busy.status == 503, busy
            assert busy.json() == {"detail": "too many request bodies at once; try again"}
            assert busy.headers["retry-after"] == "1"
            assert busy.closed
            body = json.dumps({"title": "t", "body": "b"}).encode()
            small = await exchange(server, head % len(body) + body)
            assert small.status == 401  # read in full, then refused as anonymous
        finally:
            for _, writer in held:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()
        # The held ones gone, their share is free again.
        statuses = []
        for _ in range(50):
            statuses.append((await exchange(server, head % len(large) + large)).status)
            if statuses[-1] != 503:
                break
            await asyncio.sleep(0.2)
        assert statuses[-1] == 401, statuses


# Connections


async def test_connections_over_the_limit_get_503(server: Server) -> None:
    await asyncio.sleep(0.3)  # the previous tests' connections are gone
    streams = [
        await asyncio.open_connection(server.host, server.port) for _ in range(MAX_CONNECTIONS + 3)
    ]

    async def first_reply(reader: asyncio.StreamReader) -> Reply | None:
        try:
            raw, _ = await asyncio.wait_for(_read_reply(reader, check_closed=False), 0.5)
        except TimeoutError:
            return None  # held open, waiting for a request
        return _parse(raw, 0, await _closed_after(reader))

    try:
        # All within the head deadline, which would close the held connections.
        replies = await asyncio.gather(*(first_reply(reader) for reader, _ in streams))
        held = [stream for stream, reply in zip(streams, replies, strict=True) if reply is None]
        refused = [reply for reply in replies if reply is not None]
        assert len(held) == MAX_CONNECTIONS, replies
        assert len(refused) == 3
        for reply in refused:
            assert_refused(reply, 503, "the server is at its connection limit; try again")
            assert reply.headers["retry-after"] == "1"

        # One held connection goes away: its slot serves a new client.
        held[0][1].close()
        for _ in range(20):
            reply = await exchange(server, get("/health", b"Connection: close"))
            if reply.status == 200:
                break
            await asyncio.sleep(0.05)
        assert reply.status == 200
        # A held connection still works too.
        reader, writer = held[1]
        writer.write(get("/health"))
        raw, _ = await _read_reply(reader, check_closed=False)
        assert _parse(raw, 0, False).status == 200
    finally:
        for _, writer in streams:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


# Headers the app adds, and X-Forwarded-For


@dataclass
class Account:
    id: int
    email: str
    token: str


@pytest.fixture(scope="module")
def account(server: Server) -> Account:
    """One user, made before any test spends the sign-ups allowed from 127.0.0.1."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    created = httpx.post(
        f"{server.url}/users", json={"name": "Ada", "email": email, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    token = httpx.post(f"{server.url}/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return Account(created.json()["id"], email, token.json()["access_token"])


async def test_every_response_has_nosniff(
    client: httpx.AsyncClient, account: Account, server: Server
) -> None:
    responses = [
        await client.get("/health"),
        await client.get("/blogs"),
        await client.get(f"/users/{account.id}"),
        await client.get("/no/such/path"),
        await client.get("/blogs", params={"limit": "many"}),  # 422
        await client.delete("/health"),  # 405
        await client.get("/users/me"),  # 401
    ]
    assert {r.status_code for r in responses} == {200, 404, 422, 405, 401}
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response
    # The body limit's own refusal (a declared body too large, never sent).
    too_large = await exchange(
        server, b"POST /blogs HTTP/1.1\r\nHost: test\r\nContent-Length: 99999999\r\n\r\n"
    )
    assert too_large.status == 413
    assert too_large.headers["x-content-type-options"] == "nosniff"


async def test_private_responses_are_not_stored(
    client: httpx.AsyncClient, account: Account
) -> None:
    auth = {"Authorization": f"Bearer {account.token}"}
    me = await client.get("/users/me", headers=auth)
    assert me.status_code == 200
    token = await client.post("/auth/token", data={"username": account.email, "password": PASSWORD})
    assert token.status_code == 200
    anonymous = await client.get("/users/me")
    assert anonymous.status_code == 401
    for response in (me, token, anonymous):
        assert response.headers["cache-control"] == "no-store", response

    for public in (await client.get("/blogs"), await client.get(f"/users/{account.id}")):
        assert public.status_code == 200
        assert "no-store" not in public.headers.get("cache-control", "")


async def test_x_forwarded_for_is_ignored(client: httpx.AsyncClient, account: Account) -> None:
    """Sign-ups are limited per client address. If the server believed X-Forwarded-For, every
    attempt here would come from a new address and none would be refused."""
    statuses = []
    for i in range(SIGNUP_MAX_PER_ADDRESS):
        response = await client.post(
            "/users",
            json={"name": "Eve", "email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Forwarded-Proto": "https"},
        )
        statuses.append(response.status_code)
    # `account` already signed up from 127.0.0.1, so at most MAX - 1 more get through.
    assert statuses[-1] == 429, statuses


async def test_x_forwarded_for_is_believed_from_a_trusted_proxy(database_url: str) -> None:
    """The other side of the test above: with FORWARDED_ALLOW_IPS naming the peer, each sign-up
    comes from the address X-Forwarded-For gives, so none reaches the per-address limit."""
    async with (
        serving(
            database_url,
            FORWARDED_ALLOW_IPS="127.0.0.1",
            MIGRATE_ON_START="true",
            SIGNUP_MAX_PER_ADDRESS=str(SIGNUP_MAX_PER_ADDRESS),
        ) as trusting,
        trusting.client() as client,
    ):
        statuses = []
        for i in range(SIGNUP_MAX_PER_ADDRESS + 1):
            response = await client.post(
                "/users",
                json={
                    "name": "Eve",
                    "email": f"{uuid.uuid4().hex}@example.com",
                    "password": PASSWORD,
                },
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            statuses.append(response.status_code)
    assert statuses == [201] * (SIGNUP_MAX_PER_ADDRESS + 1)


def test_serve_trusts_no_proxy_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `serve` hands uvicorn, loaded as uvicorn loads it."""
    assert _serve_config(monkeypatch, forwarded_allow_ips="").proxy_headers is False
    config = _serve_config(monkeypatch, forwarded_allow_ips="")
    config.load()
    assert not isinstance(config.loaded_app, ProxyHeadersMiddleware)
    assert config.http_protocol_class is LimitedHttpToolsProtocol

    trusting = _serve_config(monkeypatch, forwarded_allow_ips="10.0.0.1")
    trusting.load()
    assert isinstance(trusting.loaded_app, ProxyHeadersMiddleware)
    assert "10.0.0.1" in trusting.loaded_app.trusted_hosts
    assert "127.0.0.1" not in trusting.loaded_app.trusted_hosts


def _serve_config(monkeypatch: pytest.MonkeyPatch, *, forwarded_allow_ips: str) -> uvicorn.Config:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    # Leave this process's logging alone: only what `serve` says about HTTP matters here.
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    monkeypatch.setattr(logging, "captureWarnings", lambda capture: None)
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("TOKEN_SECRET", TOKEN_SECRET)
    monkeypatch.setenv("MIGRATE_ON_START", "false")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", forwarded_allow_ips)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert main(["serve"]) == 0
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    [(args, kwargs)] = calls
    return uvicorn.Config(*args, **(kwargs | {"log_config": None}))
