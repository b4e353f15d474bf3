"""429 before any work for a client address this process already knows to be over a limit.

A client that keeps sending sign-ups or logins past its limit would otherwise cost a full
request each time (routing, body parsing, dependencies, a database round trip) just to be told
429 again. The database stays the judge: this only repeats its last answer for an address, from
`KnownOverLimit`, until that limit's window ends.

The answer waits up to `DELAY_SECONDS` first. A waiting request costs no CPU, and a client that
sends its next attempt when the last one is answered can then send one a second, not thousands:
without the wait, a few hundred such loops kept one worker's event loop so busy that reads on
the same worker waited seconds (bench/abuse.py).
"""

import asyncio
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from service.observability import metrics

DELAY_SECONDS = 1.0

KnownOver = Callable[[str], float]
"""Seconds an address is still known to be over the route's limit; 0 if it is not."""


@dataclass(frozen=True)
class Refusal:
    known_over: KnownOver
    message: str


def on_routes(app: Starlette, refusals: Mapping[str, Refusal]) -> dict[tuple[str, str], Refusal]:
    """The refusals for POST routes given by name, keyed as requests arrive (method, path). A
    name the app has no route for is an error when the app is made: renaming a route, or moving
    it, cannot silently drop its refusal."""
    found = {}
    for name, refusal in refusals.items():
        try:
            path = app.url_path_for(name)
        except NoMatchFound:
            raise RuntimeError(
                f"early refusal for route {name!r}: the app has no such route"
            ) from None
        found[("POST", str(path))] = refusal
    return found


class EarlyRefusals:
    def __init__(self, app: ASGIApp, *, routes: Mapping[tuple[str, str], Refusal]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (route := self.routes.get((scope["method"], scope["path"]))):
            client = scope.get("client")
            seconds_left = route.known_over(client[0]) if client else 0.0
            if seconds_left:
                metrics.refusals.labels("429", "rate_limited").inc()
                await asyncio.sleep(min(seconds_left, DELAY_SECONDS))
                await _refuse(send, route.message, max(math.ceil(seconds_left - DELAY_SECONDS), 1))
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, message: str, retry_after: int) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
