"""PostgreSQL URLs as we take them, and the one way to open a connection to the primary.

A URL may name several servers, as libpq and asyncpg both understand it:
`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write` tries each in turn and
keeps the first that accepts writes, so after a failover a new connection finds the new primary
by itself. A primary's URL that lists several hosts and says nothing about it is given
`target_session_attrs=read-write`: the first host that answers could be a standby, on which
every write would fail.
"""

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import asyncpg

# Where the next URL starts in a comma-separated list of them (a URL's own host list has commas).
_NEXT_URL = re.compile(r",\s*(?=postgres(?:ql)?(?:\+\w+)?://)")


def asyncpg_dsn(url: str) -> str:
    """Accept SQLAlchemy-style `postgresql+asyncpg://` URLs where asyncpg wants `postgresql://`."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def hosts(url: str) -> list[str]:
    """The `host:port` entries a URL names (one for most URLs); empty for a socket URL."""
    authority = url.partition("://")[2].partition("/")[0].rpartition("@")[2]
    return [host for host in authority.split(",") if host]


def url_problem(url: str) -> str | None:
    """What keeps `url` from being a PostgreSQL URL we can connect with, or None: a wrong scheme,
    or a host whose port is not a number from 1 to 65535 (asyncpg would fail deep inside)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgres", "postgresql"):
        return "must be a postgresql:// URL"
    for host in hosts(url):
        # `[::1]:5432` or `host:5432`; a port is optional.
        port = (host.rpartition("]")[2] if host.startswith("[") else host).partition(":")[2]
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            return f"the port of {host!r} must be a number from 1 to 65535"
    return None


def primary_dsn(url: str) -> str:
    """`url` for asyncpg, told to keep only a server that accepts writes when it names several."""
    dsn = asyncpg_dsn(url)
    if len(hosts(dsn)) < 2:
        return dsn
    base, _, query = dsn.partition("?")
    options = parse_qsl(query, keep_blank_values=True)
    if any(name == "target_session_attrs" for name, _ in options):
        return dsn
    return f"{base}?{urlencode([*options, ('target_session_attrs', 'read-write')])}"


def split_urls(text: str) -> list[str]:
    """A comma-separated list of URLs (DATABASE_REPLICA_URLS), each possibly with several hosts."""
    return [url.strip() for url in _NEXT_URL.split(text) if url.strip()]


async def connect_to_primary(url: str, **options: Any) -> asyncpg.Connection:
    """A connection of its own (not pooled) to the server that takes writes now: migrations,
    maintenance, seeding and background listeners. `options` go to `asyncpg.connect`."""
    connection: asyncpg.Connection = await asyncpg.connect(primary_dsn(url), **options)
    return connection
