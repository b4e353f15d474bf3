"""A cap on the number of request header fields (MAX_HEADERS), as pure ASGI middleware.

The server refuses a head over MAX_HEADER_BYTES, and more than 100 fields, before the app sees
it (see `service.cli.serve`); this lowers the count, answering 431 and closing the connection.
"""

import json

from starlette.types import ASGIApp, Receive, Scope, Send

_BODY = json.dumps({"detail": "request header fields too large"}).encode()
_HEADERS = (
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BODY)).encode()),
    (b"connection", b"close"),
)


class HeaderCountLimit:
    def __init__(self, app: ASGIApp, *, max_headers: int) -> None:
        self.app = app
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or len(scope["headers"]) <= self.max_headers:
            await self.app(scope, receive, send)
            return
        # Fresh messages: outer middleware adds to their header lists.
        await send({"type": "http.response.start", "status": 431, "headers": [*_HEADERS]})
        await send({"type": "http.response.body", "body": _BODY})
