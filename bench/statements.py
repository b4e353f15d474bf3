"""Counting the SQL statements a server sends: a loopback proxy between it and PostgreSQL that
reads the client's side of the wire protocol and counts each Execute message (a prepared
statement run: what asyncpg sends for every query) and each simple Query message (what it sends
for BEGIN, COMMIT and other statements without arguments). Counted at the wire, not by the
service's own instruments, so nothing the service runs for a request is missed. The listener's
connection (application_name `blog-api-listener`) is not counted: its work (announcing the read
cache's changes, folding counters) runs on a timer, whatever the requests.

It runs in a thread of the benchmark's own process, so it is used only to count, never under a
timed load.
"""

import asyncio
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

HOST = "127.0.0.1"
# Startup requests for an encrypted connection: answered "N" (not here) by the proxy itself, so
# the rest of the conversation is plain and readable.
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104
_STATEMENTS = {b"E", b"Q"}
_UNCOUNTED_APPLICATIONS = {"blog-api-listener"}


class StatementCounter:
    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        self._upstream = (parts.hostname or HOST, parts.port or 5432)
        self._url = parts
        self.statements = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The database URL that reaches PostgreSQL through the proxy."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        netloc = f"{self._url.username}@{HOST}:{port}" if self._url.username else f"{HOST}:{port}"
        return self._url._replace(netloc=netloc).geturl()

    def start(self) -> None:
        self._thread.start()
        serving = asyncio.start_server(self._serve, HOST, 0)
        self._server = asyncio.run_coroutine_threadsafe(serving, self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @contextmanager
    def counting(self) -> Iterator[list[int]]:
        """Yields a one-item list that holds, after the block, the statements sent within it."""
        counted = [0]
        before = self.statements
        yield counted
        counted[0] = self.statements - before

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(*self._upstream)
        replies = asyncio.create_task(_pipe(server, to_client))
        try:
            parameters = await self._startup(client, to_client, to_server)
            counted = parameters.get("application_name") not in _UNCOUNTED_APPLICATIONS
            while True:
                kind = await client.readexactly(1)
                length = await client.readexactly(4)
                body = await client.readexactly(struct.unpack("!i", length)[0] - 4)
                if counted and kind in _STATEMENTS:
                    self.statements += 1
                to_server.write(kind + length + body)
                await to_server.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            replies.cancel()
            to_server.close()
            to_client.close()

    @staticmethod
    async def _startup(
        client: asyncio.StreamReader,
        to_client: asyncio.StreamWriter,
        to_server: asyncio.StreamWriter,
    ) -> dict[str, str]:
        """Pass the startup message on (it has a length but no type byte); its parameters."""
        while True:
            head = await client.readexactly(8)
            length, code = struct.unpack("!ii", head)
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                to_client.write(b"N")
                await to_client.drain()
                continue
            body = await client.readexactly(length - 8)
            to_server.write(head + body)
            await to_server.drain()
            fields = body.split(b"\0")
            return {
                key.decode(): value.decode()
                for key, value in zip(fields[0::2], fields[1::2], strict=False)
                if key
            }


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except ConnectionError:
        pass
    finally:
        sink.close()
