"""Counting what a request costs in statements, on the connection that runs them."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET)\b", re.IGNORECASE)


@asynccontextmanager
async def statements_run(raw: asyncpg.Connection) -> AsyncIterator[list[str]]:
    """The SQL of every statement `raw` runs meanwhile (asyncpg's query logger), leaving out
    transaction control and SET: what a request costs in queries.

    With the `raw` fixture, that is every statement the app under test runs, since the app
    holds that one connection for the whole test.
    """
    seen: list[str] = []

    def log(record: Any) -> None:
        if not _CONTROL.match(record.query):
            seen.append(record.query)

    raw.add_query_logger(log)
    try:
        yield seen
        await asyncio.sleep(0)  # asyncpg calls its loggers soon after each statement, not in it
    finally:
        raw.remove_query_logger(log)
