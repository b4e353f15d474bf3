"""uvicorn's httptools protocol, with limits that keep a hostile client from holding a process.

`LimitedHttpToolsProtocol` adds to uvicorn's `HttpToolsProtocol`, before the app ever sees a
request:

- a cap on the request head: over `MAX_HEADER_BYTES` bytes or `MAX_HEADERS` header fields is
  `431`, and the connection closes;
- a deadline for the request head: `HEADER_TIMEOUT_SECONDS` from the moment the connection is
  made, or, on a kept-alive connection, from the first byte of the next request (before that
  byte uvicorn's own keep-alive timeout applies) until the last header line; missing it is
  `408`, and the connection closes;
- a cap on open connections per process: at `MAX_CONNECTIONS`, a new connection gets a `503`
  with `Retry-After` and is closed without reading from it.

Every refusal is a complete JSON `{"detail": ...}` response with `connection: close`, then a
short lingering close (our end of the stream first, the socket a moment later) so that a client
still sending gets to read it rather than a reset. The body of a request has its own deadline
and size cap in the app's middleware (`service.api.middleware.body_limit`).

Where the limits come from: uvicorn builds the protocol itself, from the class given as
`http=`, with only its own `Config`, which has no room for our settings. With `--workers N`
uvicorn pickles that `Config` into *spawned* processes, which import their modules afresh, so
a module-level value set by `serve` in the parent process would not reach them; the
environment (and `.env`, read from the same working directory) does, which is also how the app
itself gets its settings in each worker. So each process reads `service.settings.Settings()`
once, on its first connection, and every connection of that process shares the result.

The hot path (a small request on a kept-alive connection) costs an integer addition and a
comparison per header, a clock read per request and a few more comparisons; no task, no extra
buffering, and no timer per request (see `_head_timer`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from service.settings import Settings

# What a header line adds to its name and value: ": " and CRLF.
_HEADER_LINE_OVERHEAD = 4


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout_seconds: float
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout_seconds=settings.header_timeout_seconds,
            max_connections=settings.max_connections,
        )


@functools.cache
def process_limits() -> HttpLimits:
    """This process's limits, from the environment (and `.env`), read once."""
    return HttpLimits.from_settings(Settings())


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    headers: bytes  # every header line after the server's defaults, and the blank line
    body: bytes


def _refusal(status: int, detail: str, *extra: tuple[str, str]) -> _Refusal:
    body = json.dumps({"detail": detail}).encode()
    lines = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("x-content-type-options", "nosniff"),
        *extra,
        ("connection", "close"),
    ]
    headers = "".join(f"{name}: {value}\r\n" for name, value in lines) + "\r\n"
    return _Refusal(status, headers.encode("ascii"), body)


HEAD_TOO_LARGE = _refusal(431, "request header fields too large")
HEAD_TOO_SLOW = _refusal(408, "request headers not received in time")
AT_CONNECTION_LIMIT = _refusal(
    503, "the server is at its connection limit; try again", ("retry-after", "1")
)

# How long a refused connection is drained before it is closed regardless.
LINGER_SECONDS = 2.0

# At most one warning a second about the connection limit, however many connections it refuses.
_CAP_WARNING_INTERVAL = 1.0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _last_cap_warning: ClassVar[float] = -_CAP_WARNING_INTERVAL

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = process_limits()
        self._max_header_bytes = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._header_timeout = limits.header_timeout_seconds
        self._max_connections = limits.max_connections
        # Per connection: set once a refusal is written; every later callback is ignored.
        self._refused = False
        self._close_timer: asyncio.TimerHandle | None = None
        # The head deadline. One timer per connection, not per request: it stays armed when a
        # head completes, and when it fires it checks the head open then (if any), re-arming for
        # what that head has left. A busy kept-alive connection thus sets a timer at most once
        # per HEADER_TIMEOUT_SECONDS, not once per request.
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_open = False  # from a head's first byte (or from connection_made) to its end
        self._head_started = 0.0
        # The head's size: header lines as the parser hands them over, and whole reads that
        # arrived while it stayed open (the parser holds an unfinished line back, whole).
        self._head_bytes = 0
        self._head_reads_bytes = 0

    # Connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if len(self.connections) >= self._max_connections:
            # Never joins `connections`, so it neither counts nor is asked to shut down.
            self.transport = transport
            self._warn_at_connection_limit()
            self._refuse(AT_CONNECTION_LIMIT)
            return
        super().connection_made(transport)
        # The first head's deadline runs from now, not from its first byte.
        self._head_open = True
        self._head_started = self.loop.time()
        self._head_timer = self.loop.call_later(self._header_timeout, self._head_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        if self._close_timer is not None:
            self._close_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: dropped
        if self._head_open:
            # Zeroed by on_message_begin if a request starts within this read, so this counts
            # only reads that were head from their first byte to their last.
            self._head_reads_bytes += len(data)
        super().data_received(data)
        if (
            self._head_open
            and self._head_reads_bytes > self._max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(HEAD_TOO_LARGE)

    # Parser callbacks

    def on_message_begin(self) -> None:
        if self._refused:
            return
        HttpToolsProtocol.on_message_begin(self)
        self._head_bytes = self._head_reads_bytes = 0
        if not self._head_open:  # a kept-alive connection's next request: from this first byte
            self._head_open = True
            self._head_started = self.loop.time()
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self._header_timeout, self._head_deadline)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Once over, it stays over until the next request (which a refusal never reaches).
        head_bytes = self._head_bytes + len(name) + len(value) + _HEADER_LINE_OVERHEAD
        self._head_bytes = head_bytes
        if head_bytes <= self._max_header_bytes:
            HttpToolsProtocol.on_header(self, name, value)
        elif not self._refused:
            self._refuse(HEAD_TOO_LARGE)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._head_open = False
        if (
            self._head_bytes + len(self.url) > self._max_header_bytes
            or len(self.headers) > self._max_headers
        ):
            self._refuse(HEAD_TOO_LARGE)
            return
        HttpToolsProtocol.on_headers_complete(self)

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            HttpToolsProtocol.on_body(self, body)

    def on_message_complete(self) -> None:
        if not self._refused:
            HttpToolsProtocol.on_message_complete(self)

    # Refusals

    def _head_deadline(self) -> None:
        self._head_timer = None
        if not self._head_open or self._refused or self.transport.is_closing():
            return  # no head under way: the next one arms the timer again
        left = self._head_started + self._header_timeout - self.loop.time()
        if left > 0:  # a head that started after the timer was set
            self._head_timer = self.loop.call_later(left, self._head_deadline)
            return
        self._refuse(HEAD_TOO_SLOW)

    def _refuse(self, refusal: _Refusal) -> None:
        self._refused = True
        self._head_open = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        transport = self.transport
        if transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request, refused while the response before it is still being written:
            # no answer in the middle of that one; the connection closes once it is done.
            self.cycle.keep_alive = False
            return
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("%s - refused with %d", self.client, refusal.status)
        content = [STATUS_LINE[refusal.status]]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [refusal.headers, refusal.body]
        transport.write(b"".join(content))
        if not transport.can_write_eof():
            transport.close()
            return
        # A lingering close: closing with unread input (the rest of a huge head, a request sent
        # right after connecting) would make the kernel answer with a reset and throw away the
        # response we just wrote. So send it and our end of the stream, then read and drop
        # whatever still comes, until the client closes (eof_received) or LINGER_SECONDS pass.
        transport.write_eof()
        self._close_timer = self.loop.call_later(LINGER_SECONDS, transport.close)

    def _warn_at_connection_limit(self) -> None:
        now = time.monotonic()
        cls = LimitedHttpToolsProtocol
        if now - cls._last_cap_warning >= _CAP_WARNING_INTERVAL:
            cls._last_cap_warning = now
            self.logger.warning(
                "At the connection limit (MAX_CONNECTIONS=%d): refusing new connections with 503.",
                self._max_connections,
            )
