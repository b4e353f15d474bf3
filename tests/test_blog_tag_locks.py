"""Writers tagging blogs with the same tags lock those tags in one order, whatever order each
sends them in, so two of them never deadlock (PostgreSQL would cancel one: a failed write)."""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from service.testing.accounts import sign_up_with
from service.testing.databases import ScratchDatabase, connect
from tests.support.servers import in_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio


async def _lock_waiters(url: str) -> int:
    async with connect(url) as admin:
        waiting: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    return waiting


Request = Callable[[], Coroutine[Any, Any, httpx.Response]]


async def _behind_a_held_tag(
    url: str, first: Request, second: Request
) -> tuple[httpx.Response, httpx.Response]:
    """A third transaction holds tag `alpha`; `first` is sent and waits for a lock, then
    `second` is sent and waits too; then `alpha` is let go, and both take their locks as they
    come. Their answers."""
    async with connect(url) as holder:
        blocker = holder.transaction()
        await blocker.start()
        await holder.execute("SELECT FROM tags WHERE name = 'alpha' FOR UPDATE")
        first_sent = asyncio.create_task(first())

        async def waiting(count: int) -> bool:
            return await _lock_waiters(url) == count

        await eventually(lambda: waiting(1), within=10, what="the first request to wait")
        second_sent = asyncio.create_task(second())
        await eventually(lambda: waiting(2), within=10, what="the second request to wait")
        await blocker.rollback()
    first_answer, second_answer = await asyncio.gather(first_sent, second_sent)
    return first_answer, second_answer


@pytest.mark.parametrize("edit", [False, True], ids=["create", "update"])
async def test_two_writers_with_the_same_tags_in_opposite_orders_both_succeed(
    scratch_database: ScratchDatabase, edit: bool
) -> None:
    """A third transaction holds tag `alpha`, so the first writer (alpha, beta) waits for it.
    The second (beta, alpha), were it to lock in its own order, would take `beta` and wait for
    `alpha` too; once `alpha` is free the first takes it and waits for `beta`: a deadlock."""
    url = await scratch_database()
    await _interleaved(url, edit=edit, first=["alpha", "beta"], second=["beta", "alpha"])


async def test_two_edits_each_dropping_the_tag_the_other_keeps_both_succeed(
    scratch_database: ScratchDatabase,
) -> None:
    """Both blogs carry alpha and beta. The first edit keeps alpha (and drops beta, whose count
    it then changes); the second keeps beta and drops alpha: each needs both tags, and must
    take them in the same order as the other."""
    url = await scratch_database()
    await _interleaved(url, edit=True, first=["alpha"], second=["beta"])


async def _interleaved(url: str, *, edit: bool, first: list[str], second: list[str]) -> None:
    async with in_process(url, min_size=2, max_size=4) as client:
        ada = await sign_up_with(client, "Ada")
        ids = []
        for title in ("one", "two"):
            made = await client.post(
                "/blogs",
                json={"title": title, "body": "b", "tags": ["alpha", "beta"]},
                headers=ada.headers,
            )
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])

        def write(n: int, tags: list[str]):  # type: ignore[no-untyped-def]
            if edit:
                return client.patch(f"/blogs/{ids[n]}", json={"tags": tags}, headers=ada.headers)
            return client.post(
                "/blogs", json={"title": "t", "body": "b", "tags": tags}, headers=ada.headers
            )

        answers = await _behind_a_held_tag(url, lambda: write(0, first), lambda: write(1, second))
    assert [answer.status_code for answer in answers] == [200 if edit else 201] * 2, [
        answer.text for answer in answers
    ]


async def test_a_writer_and_a_deletion_with_the_same_tags_both_succeed(
    scratch_database: ScratchDatabase,
) -> None:
    """A writer locks its tags in name order; deleting a blog unlinks its tags, and the count
    trigger then locks them too: in the same order, or the two deadlock when names and ids run
    opposite ways. `zulu` is made before `alpha`, so its id is the lower one. A third
    transaction holds `alpha`: the writer (alpha, zulu) waits for it; the deletion, in id order,
    would take `zulu` and wait for `alpha` too, and once `alpha` is free, each would wait for
    the other."""
    url = await scratch_database()
    async with in_process(url, min_size=2, max_size=4) as client:
        ada = await sign_up_with(client, "Ada")
        bob = await sign_up_with(client, "Bob")  # his own blog: no user counter in common
        for tags in (["zulu"], ["alpha"], ["alpha", "zulu"]):
            made = await client.post(
                "/blogs", json={"title": "t", "body": "b", "tags": tags}, headers=bob.headers
            )
            assert made.status_code == 201, made.text
        doomed = made.json()["id"]

        written, deleted = await _behind_a_held_tag(
            url,
            lambda: client.post(
                "/blogs",
                json={"title": "t", "body": "b", "tags": ["zulu", "alpha"]},
                headers=ada.headers,
            ),
            lambda: client.delete(f"/blogs/{doomed}", headers=bob.headers),
        )
    assert (written.status_code, deleted.status_code) == (201, 204), [written.text, deleted.text]


async def test_a_deletion_never_waits_for_a_writer_holding_its_tags(
    scratch_database: ScratchDatabase,
) -> None:
    """A writer (p, pp, q) holds `p` and waits for `pp`, which a third transaction holds. A
    deletion of a blog tagged p and q skips `p`'s row (0024) and adds to a slot of it, whose
    foreign key check must not wait for the writer's lock on `p`: it held `q` meanwhile, which
    the writer takes next, and the two deadlocked once `pp` was free."""
    url = await scratch_database()
    async with in_process(url, min_size=3, max_size=4) as client:
        ada = await sign_up_with(client, "Ada")
        bob = await sign_up_with(client, "Bob")
        ids = {}
        for tags in (["p", "q"], ["pp"]):
            made = await client.post(
                "/blogs", json={"title": "t", "body": "b", "tags": tags}, headers=bob.headers
            )
            assert made.status_code == 201, made.text
            ids[tags[0]] = made.json()["id"]

        async with connect(url) as holder:
            held = holder.transaction()
            await held.start()
            await holder.execute("DELETE FROM blogs WHERE id = $1", ids["pp"])
            written = asyncio.create_task(
                client.post(
                    "/blogs",
                    json={"title": "t", "body": "b", "tags": ["p", "pp", "q"]},
                    headers=ada.headers,
                )
            )

            async def waiting() -> bool:
                return await _lock_waiters(url) == 1

            await eventually(waiting, within=10, what="the writer to wait for pp")
            deleted = await asyncio.wait_for(
                client.delete(f"/blogs/{ids['p']}", headers=bob.headers), timeout=5
            )
            await held.commit()
        answer = await written
    assert (answer.status_code, deleted.status_code) == (201, 204), [answer.text, deleted.text]


async def test_a_write_cancelled_by_a_deadlock_is_a_503_and_leaves_nothing(
    scratch_database: ScratchDatabase,
) -> None:
    """An author writing a blog tagged `alpha` while deleting another tagged `alpha`: the
    writer locks the tag, then (in its counter trigger) the author's blog count; the deletion
    locks the count, then the tag. A third transaction holding `alpha` makes them meet that way,
    and PostgreSQL cancels one. The cancelled write is rolled back whole: a 503 to try again,
    never a 500."""
    url = await scratch_database()
    async with in_process(url, min_size=2, max_size=4) as client:
        ada = await sign_up_with(client, "Ada")
        made = await client.post(
            "/blogs", json={"title": "t", "body": "b", "tags": ["alpha"]}, headers=ada.headers
        )
        assert made.status_code == 201, made.text
        doomed = made.json()["id"]

        written, deleted = await _behind_a_held_tag(
            url,
            lambda: client.post(
                "/blogs", json={"title": "t", "body": "b", "tags": ["alpha"]}, headers=ada.headers
            ),
            lambda: client.delete(f"/blogs/{doomed}", headers=ada.headers),
        )
        statuses = (written.status_code, deleted.status_code)
        assert statuses in {(201, 204), (503, 204), (201, 503)}, [written.text, deleted.text]
        for answer in (written, deleted):
            if answer.status_code == 503:
                assert answer.headers["retry-after"] == "1"
        blogs = (await client.get(f"/users/{ada.id}/blogs")).json()["items"]
    async with connect(url) as admin:
        counted = await admin.fetchval("SELECT sum(blog_count)::bigint FROM user_blog_counts")
        # The tag's row and its slot rows (0024): the deletion, kept from the row, adds to a slot.
        tagged = await admin.fetchval(
            "SELECT t.blog_count + coalesce(sum(s.blog_count), 0)::bigint"
            " FROM tags AS t LEFT JOIN tag_blog_counts AS s ON s.tag_id = t.id"
            " WHERE t.name = 'alpha' GROUP BY t.id"
        )
    assert (
        counted
        == tagged
        == len(blogs)
        == 1 + (written.status_code == 201) - (deleted.status_code == 204)
    )
