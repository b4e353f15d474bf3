"""Security headers on every response, as pure ASGI middleware.

- `x-content-type-options: nosniff` everywhere: browsers take our JSON for JSON, never sniff it
  into something they would run.
- `cache-control: no-store` on the responses that carry a user's private data or credentials
  (`/users/me`, any method, and `/auth/token`), so no shared or browser cache keeps a copy.

The header tuples are built once; a response only gets them appended to its header list.
"""

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]

NOSNIFF: Header = (b"x-content-type-options", b"nosniff")
NO_STORE: Header = (b"cache-control", b"no-store")

PRIVATE_PATHS = frozenset({"/users/me", "/auth/token"})

_PUBLIC_HEADERS = (NOSNIFF,)
_PRIVATE_HEADERS = (NOSNIFF, NO_STORE)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, private_paths: Iterable[str] = PRIVATE_PATHS) -> None:
        self.app = app
        self.private_paths = frozenset(private_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _PRIVATE_HEADERS if scope["path"] in self.private_paths else _PUBLIC_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.extend(extra)  # the response's own list, made for this request
                else:  # absent, or another iterable: ours, without changing theirs
                    message["headers"] = [*(headers or ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
