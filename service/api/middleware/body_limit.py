"""Limits on request bodies, as pure ASGI middleware: a size and a time to receive the whole body.

Size: a declared Content-Length over the limit is refused (413) before the body is read; a
streamed body is refused as soon as it passes the limit, and the rest is never read.

Memory: a body is held in memory from its first byte until its request ends, so a worker
receives at most `max_in_flight` bytes of bodies at once (a declared Content-Length counts in
full, a streamed body as `max_bytes`); a body that would pass it is refused (503) before it is
read. Without it, clients that start large bodies and trickle the rest would hold up to a
body's size per connection, for the body's whole time.

Time: a body must be received in full within `timeout_seconds` of the app's first `receive()`;
a client trickling it in is answered 408. Either way, the app then sees the client disconnect,
stops reading, and whatever it answers is dropped.

A request with neither Content-Length nor Transfer-Encoding has no body (most GETs) and goes
straight through: no wrapper, no timer. The request head has its own limits in the server
protocol (`service.cli.http_protocol`).
"""

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Refusal:
    """A JSON `{"detail": ...}` answer; each use gets fresh messages, since outer middleware
    may add to their headers."""

    def __init__(
        self, status: int, detail: str, *, extra: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        self.status = status
        self.body = json.dumps({"detail": detail}).encode()
        self.headers = (
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"connection", b"close"),
            *extra,
        )

    async def send(self, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status, "headers": [*self.headers]}
        await send(start)
        await send({"type": "http.response.body", "body": self.body})


_TOO_LARGE = _Refusal(413, "the request body is too large")
_TOO_SLOW = _Refusal(408, "request body not received in time")
_TOO_MANY = _Refusal(
    503, "too many request bodies at once; try again", extra=((b"retry-after", b"1"),)
)


def _disconnect() -> Message:
    return {"type": "http.disconnect"}


class RequestBodyLimits:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, timeout_seconds: float, max_in_flight: int
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        # One body of the largest size always fits.
        self.max_in_flight = max(max_in_flight, max_bytes)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            # No body at all (most GETs): nothing to watch.
            await self.app(scope, receive, send)
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _TOO_LARGE.send(send)
            return

        received = 0
        deadline: float | None = None
        complete = started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, deadline, complete, refused
            if complete or refused:
                # The body is in: from here on receive() only waits for a disconnect, untimed.
                return await receive() if complete else _disconnect()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.timeout_seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                return await refuse(_TOO_SLOW)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    return await refuse(_TOO_LARGE)
                complete = not message.get("more_body", False)
            return message

        async def refuse(refusal: _Refusal) -> Message:
            nonlocal refused
            if not started:
                refused = True
                await refusal.send(send)
            # The app sees a client that went away, and stops reading.
            return _disconnect()

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        reserved = self.max_bytes if declared is None else int(declared)
        if self.in_flight + reserved > self.max_in_flight:
            await _TOO_MANY.send(send)
            return
        self.in_flight += reserved
        try:
            await self.app(scope, limited_receive, guarded_send)
        finally:
            self.in_flight -= reserved
