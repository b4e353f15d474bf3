"""Anonymous reads answered from memory, as pure ASGI middleware in front of routing.

A GET without `Authorization` or `Cookie` is looked up by its method, raw path and raw query
string, byte for byte: two requests share an entry only when they are the same bytes, so no
normalisation has to be proven equivalent (duplicated parameters, their order and encoding all
make different keys). A hit sends the stored status, headers and body (or the 304 the app would
send for a matching `If-None-Match`) with no routing, no dependencies, no validation.

A miss runs the app. The first time a key misses, its 200 from one of the public reads
(`cache_keys.PUBLIC_READS`) is not stored, only remembered (`cache_admission`): the request costs
what it would cost with no cache, and a page asked for once never pushes a page read often out
of the store. From its second sight on, such a 200 is stored with the keys of what it shows, if
the store's race rule lets it (`cache_store`). Nothing else is stored or remembered: other
routes, other statuses, signed-in readers, other methods.

The store is emptied by the `read_cache` notifications PostgreSQL sends on commit
(`service.db.invalidations`); while they are not being received the cache is bypassed.

Every response of a public read carries `Vary: Authorization`: it is the header that makes the
answer differ (a signed-in reader sees their own `favorited` and `following`).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.etags import none_match
from service.api.middleware.cache_keys import PUBLIC_READS, dependencies
from service.api.middleware.cache_store import Entry, ResponseStore
from service.db.replicas import ReadOrigin, read_origin
from service.observability import metrics

VARY: tuple[bytes, bytes] = (b"vary", b"Authorization")

_MISSES = metrics.read_cache_lookups.labels("miss")
_REFUSED_FIRST_SIGHT = metrics.read_cache_stores.labels("refused_first_sight")


def _vary_if_public(scope: Scope, start: Message) -> str | None:
    """Add `Vary` to the response start of a public read; the read's route template, or None."""
    route_path: str | None = getattr(scope.get("route"), "path", None)
    if route_path not in PUBLIC_READS:
        return None
    start["headers"] = [*start.get("headers", ()), VARY]
    return route_path


def _storable_keys(scope: Scope, start: Message) -> tuple[str, ...] | None:
    """`_vary_if_public`, and the keys of what the page shows when the store may keep it (a 200
    of a public read whose parameters name a page); None otherwise."""
    route_path = _vary_if_public(scope, start)
    if route_path is None or start["status"] != 200:
        return None
    return dependencies(route_path, scope.get("path_params", {}))


class ReadCache:
    def __init__(self, app: ASGIApp, *, store: ResponseStore | None) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        store = self.store
        if store is None or not store.listening:
            await self.app(scope, receive, _with_vary(scope, send))
            return
        if_none_match: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization" or name == b"cookie":
                await self.app(scope, receive, _with_vary(scope, send))
                return
            if name == b"if-none-match" and if_none_match is None:
                if_none_match = value  # the first line, as the app reads it (Headers.get)
        key = b"%b?%b" % (scope.get("raw_path") or scope["path"].encode(), scope["query_string"])
        entry = store.get(key)
        if entry is None:
            if store.doorkeeper.seen(key):
                await self._miss(store, key, scope, receive, send)
            else:
                await self.app(scope, receive, _first_sight(scope, key, store, send))
            return
        scope["route"] = entry.route
        if (
            if_none_match is not None
            and entry.etag is not None
            and not none_match(if_none_match.decode("latin-1"), entry.etag)
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": list(entry.not_modified_headers),
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": list(entry.headers)})
        await send({"type": "http.response.body", "body": entry.body})

    async def _miss(
        self, store: ResponseStore, key: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        ticket = store.ticket()
        origin = ReadOrigin()
        origin_token = read_origin.set(origin)
        headers: list[tuple[bytes, bytes]] | None = None
        keys: tuple[str, ...] | None = None
        chunks: list[bytes] = []
        size = 0

        async def capture(message: Message) -> None:
            nonlocal headers, keys, size
            if message["type"] == "http.response.start":
                keys = _storable_keys(scope, message)
                if keys is not None:
                    _MISSES.inc()
                    headers = list(message["headers"])  # before outer layers add theirs
            elif headers is not None and message["type"] == "http.response.body":
                body = message.get("body", b"")
                size += len(body)
                if size > store.max_entry_bytes:
                    headers = None
                else:
                    chunks.append(body)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            read_origin.reset(origin_token)
        if headers is None or keys is None:
            return
        etag = next((value for name, value in headers if name == b"etag"), None)
        entry = Entry(
            headers=headers,
            body=b"".join(chunks),
            etag=None if etag is None else etag.decode("latin-1"),
            not_modified_headers=[] if etag is None else [(b"etag", etag), VARY],
            route=scope.get("route"),
            dependencies=keys,
            stored_at=ticket.at,
            size=0,
        )
        store.put(key, entry, ticket, from_replica=origin.replica)


def _first_sight(scope: Scope, key: bytes, store: ResponseStore, send: Send) -> Send:
    """What the bypass does, and a 200 that could be stored is remembered instead."""

    async def remember_storable(message: Message) -> None:
        if message["type"] == "http.response.start" and _storable_keys(scope, message) is not None:
            store.doorkeeper.remember(key)
            _MISSES.inc()
            _REFUSED_FIRST_SIGHT.inc()
        await send(message)

    return remember_storable


def _with_vary(scope: Scope, send: Send) -> Send:
    async def send_with_vary(message: Message) -> None:
        if message["type"] == "http.response.start":
            _vary_if_public(scope, message)
        await send(message)

    return send_with_vary
