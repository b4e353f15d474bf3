"""The service behind a real PgBouncer in transaction pooling mode (DB_POOLER=pgbouncer), on
fewer server connections than it has clients: every flow works, and so does the statement
timeout, which a pooler would drop as a startup parameter."""

import asyncio
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from service.db.database import PoolerRefused
from service.errors import DatabaseUnavailable
from service.testing.accounts import PASSWORD, sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect
from tests.support.api import walk_pages
from tests.support.pgbouncer import Bouncer, pgbouncer
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def bouncer(server_url: str) -> Iterator[Bouncer]:
    with pgbouncer(server_url, pool_size=3) as bouncer:
        yield bouncer


async def test_every_flow_works_through_pgbouncer(
    bouncer: Bouncer, scratch_database: ScratchDatabase
) -> None:
    direct = await scratch_database()
    url = bouncer.url(urlsplit(direct).path.lstrip("/"))
    settings = settings_for(url, db_pooler="pgbouncer", database_direct_url=direct)
    # More pooled connections (10) than PgBouncer has for the database (3).
    async with in_process(url, settings=settings, pooler=True, min_size=2, max_size=10) as client:
        user = await sign_up_with(client)
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        login = await client.post("/auth/token", data={"username": user.email, "password": "x"})
        assert login.status_code == 401
        created = await asyncio.gather(
            *(
                client.post("/blogs", json={"title": f"b{n}", "body": "x"}, headers=user.headers)
                for n in range(30)
            )
        )
        assert {r.status_code for r in created} == {201}
        blog = created[0].json()
        edited = await client.patch(
            f"/blogs/{blog['id']}",
            json={"title": "edited"},
            headers=user.headers | {"If-Match": created[0].headers["ETag"]},
        )
        assert edited.status_code == 200
        reads = await asyncio.gather(*(client.get(f"/blogs/{r.json()['id']}") for r in created))
        assert {r.status_code for r in reads} == {200}
        items, _ = await walk_pages(client, "/blogs", limit="7")
        assert len(items) == 30
        found = await client.get("/blogs", params={"q": "edited"})
        assert [b["id"] for b in found.json()["items"]] == [blog["id"]]
        deleted = await client.delete(f"/blogs/{blog['id']}", headers=user.headers)
        assert deleted.status_code == 204
        changed = await client.patch(
            "/users/me",
            json={"password": "another password", "current_password": PASSWORD},
            headers=user.headers,
        )
        assert changed.status_code == 200


async def test_session_settings_hold_behind_pgbouncer(
    bouncer: Bouncer, scratch_database: ScratchDatabase
) -> None:
    direct = await scratch_database()
    url = bouncer.url(urlsplit(direct).path.lstrip("/"))
    settings = settings_for(url, db_pooler="pgbouncer", database_direct_url=direct)
    async with in_process(url, settings=settings, pooler=True, statement_timeout_ms=50) as client:
        database = client._transport.app.state.databases.primary  # type: ignore[attr-defined]
        async with database.connection() as db:
            # Each statement gets them, in its own transaction, whichever server runs it.
            for _ in range(6):
                row = await db.fetch_one(
                    sa.select(
                        sa.func.current_setting("statement_timeout").label("timeout"),
                        sa.func.current_setting("jit").label("jit"),
                    )
                )
                assert row is not None and (row["timeout"], row["jit"]) == ("50ms", "off")
            with pytest.raises(DatabaseUnavailable) as timed_out:
                await db.fetch_one(sa.select(sa.func.pg_sleep(1)))
            assert timed_out.value.reason == "statement_timeout"
        # Nothing leaked into the pooled server connections: a plain session sees the defaults.
        async with connect(url) as plain:
            assert await plain.fetchval("SHOW statement_timeout") == "0"


async def test_without_db_pooler_the_service_says_what_to_set(
    bouncer: Bouncer, scratch_database: ScratchDatabase
) -> None:
    direct = await scratch_database()
    url = bouncer.url(urlsplit(direct).path.lstrip("/"))
    with pytest.raises(PoolerRefused, match="set DB_POOLER=pgbouncer"):
        async with in_process(url):
            pass
