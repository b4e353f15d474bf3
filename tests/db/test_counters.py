"""The counters of sql/migrations/0016_counters.sql against COUNT(*) of the rows, after real
concurrent commits, cascading deletes and a repair of counters broken by hand."""

import asyncio
import random
from typing import Any

import asyncpg
import pytest

from service.db import maintenance
from service.db.urls import asyncpg_dsn
from service.testing.accounts import PASSWORD, sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio

TAGS = ["red", "green", "blue", "cyan"]

# Every counter with what it should hold, as (counter, id, stored, counted) rows that differ.
DRIFT = """
SELECT 'blogs' AS counter, NULL::bigint AS id,
       (SELECT sum(blog_count)::bigint FROM blog_count_slots) AS stored,
       (SELECT count(*) FROM blogs) AS counted
UNION ALL
SELECT 'user blogs', u.id,
       (SELECT coalesce(sum(blog_count), 0)::bigint FROM user_blog_counts WHERE user_id = u.id),
       (SELECT count(*) FROM blogs WHERE user_id = u.id)
FROM users AS u
UNION ALL
SELECT 'user favorites', u.id,
       (SELECT coalesce(sum(favorite_count), 0)::bigint FROM user_favorite_counts
        WHERE user_id = u.id),
       (SELECT count(*) FROM favorites WHERE user_id = u.id)
FROM users AS u
UNION ALL
SELECT 'tag blogs', t.id,
       t.blog_count
       + (SELECT coalesce(sum(blog_count), 0)::bigint FROM tag_blog_counts WHERE tag_id = t.id),
       (SELECT count(*) FROM blog_tags WHERE tag_id = t.id)
FROM tags AS t
UNION ALL
SELECT 'blog favorites', b.id, b.favorites_count,
       (SELECT count(*) FROM favorites WHERE blog_id = b.id)
FROM blogs AS b
"""


async def counters_against_rows(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    """Every counter as (counter, id, stored, counted); none may differ."""
    return [tuple(row) for row in await conn.fetch(DRIFT)]


def drifted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row for row in rows if row[2] != row[3]]


async def test_counts_equal_the_rows_after_concurrent_writes_and_deletes(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    settings = settings_for(url, write_max_per_user=10_000)
    async with in_process(url, settings=settings, min_size=8, max_size=8) as client:
        accounts = await asyncio.gather(
            *(sign_up_with(client, name=f"Writer {i}") for i in range(4))
        )
        rng = random.Random(19)

        async def create(n: int) -> dict[str, Any]:
            owner = accounts[n % len(accounts)]
            # Sorted: blog_create locks new tags in the order given (issue 21 orders them).
            tags = sorted(rng.sample(TAGS, rng.randint(0, 3)))
            response = await client.post(
                "/blogs",
                json={"title": f"Blog {n}", "body": "text", "tags": tags},
                headers=owner.headers,
            )
            assert response.status_code == 201, response.text
            blog: dict[str, Any] = response.json()
            return blog

        blogs = await asyncio.gather(*(create(n) for n in range(48)))

        async def favorite(account_index: int, blog: dict[str, Any]) -> None:
            response = await client.post(
                f"/blogs/{blog['id']}/favorite", headers=accounts[account_index].headers
            )
            assert response.status_code == 200, response.text

        await asyncio.gather(
            *(favorite(i, blog) for i in range(len(accounts)) for blog in blogs[i::2])
        )

        async def delete(blog: dict[str, Any]) -> None:
            owner = next(a for a in accounts if a.id == blog["owner"]["id"])
            response = await client.delete(f"/blogs/{blog['id']}", headers=owner.headers)
            assert response.status_code == 204, response.text

        async def unfavorite(blog: dict[str, Any]) -> None:
            response = await client.delete(
                f"/blogs/{blog['id']}/favorite", headers=accounts[0].headers
            )
            assert response.status_code == 200, response.text

        await asyncio.gather(
            *(delete(blog) for blog in blogs[::5]),
            *(unfavorite(blog) for blog in blogs[2::10]),
        )

    async with connect(url) as conn:
        rows = await counters_against_rows(conn)
        slots_used = await conn.fetchval(
            "SELECT count(*) FROM blog_count_slots WHERE blog_count <> 0"
        )
    assert drifted(rows) == []
    counted = {(counter, id_): count for counter, id_, _, count in rows}
    assert counted["blogs", None] == 48 - len(blogs[::5])
    assert sum(count for (counter, _), count in counted.items() if counter == "user favorites") > 0
    # Concurrent transactions added to more than one slot, so they did not queue on one row.
    assert slots_used > 1


async def test_deleting_a_user_with_5000_tagged_and_favorited_blogs_is_one_bounded_statement(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    # The service's own statement timeout (5 s): before the statement triggers, the per-row
    # counter triggers took about 26 s for this deletion and it failed with a 503.
    async with in_process(url) as client:
        author = await sign_up_with(client, name="Prolific")
        fan = await sign_up_with(client, name="Fan")
        async with connect(url) as conn:
            await conn.execute(
                "INSERT INTO blogs (user_id, title, body) "
                "SELECT $1, 'Blog ' || i, 'text' FROM generate_series(1, 5000) AS i",
                author.id,
            )
            await conn.execute("INSERT INTO tags (name) SELECT unnest($1::text[])", TAGS)
            await conn.execute(
                "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
                "SELECT b.id, t.id, b.created_at FROM blogs AS b CROSS JOIN tags AS t "
                "WHERE t.name <> 'cyan'"
            )
            await conn.execute(
                "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
                "SELECT u, b.id, b.created_at FROM blogs AS b, unnest($1::bigint[]) AS u",
                [author.id, fan.id],
            )
            assert drifted(await counters_against_rows(conn)) == []
            assert await conn.fetchval("SELECT blog_count FROM tags WHERE name = 'red'") == 5000

        response = await client.request(
            "DELETE",
            "/users/me",
            json={"current_password": PASSWORD},
            headers=author.headers,
        )
        assert response.status_code == 204, response.text

    async with connect(url) as conn:
        rows = await counters_against_rows(conn)
        fan_favorites = await conn.fetchval(
            "SELECT sum(favorite_count)::bigint FROM user_favorite_counts WHERE user_id = $1",
            fan.id,
        )
        tag_counts = await conn.fetch("SELECT blog_count FROM tags")
    assert drifted(rows) == []
    assert fan_favorites == 0
    assert [row["blog_count"] for row in tag_counts] == [0] * len(TAGS)


async def test_counters_repair_lists_drift_and_sets_every_counter_right(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        users = await conn.fetch(
            "INSERT INTO users (name, email, password_hash) "
            "SELECT 'User ' || i, 'user' || i || '@example.com', 'x' "
            "FROM generate_series(1, 3) AS i RETURNING id"
        )
        ids = [row["id"] for row in users]
        await conn.execute(
            "INSERT INTO blogs (user_id, title, body) "
            "SELECT u, 'Blog', 'text' FROM unnest($1::bigint[]) AS u, generate_series(1, 4)",
            ids,
        )
        await conn.execute("INSERT INTO tags (name) SELECT unnest($1::text[])", TAGS)
        await conn.execute(
            "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
            "SELECT b.id, t.id, b.created_at FROM blogs AS b, tags AS t WHERE t.name = 'red'"
        )
        await conn.execute(
            "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
            "SELECT $1, id, created_at FROM blogs",
            ids[0],
        )
        assert drifted(await counters_against_rows(conn)) == []
        # Broken by hand, one of each.
        await conn.execute("UPDATE blog_count_slots SET blog_count = blog_count + 3 WHERE slot = 5")
        await conn.execute("DELETE FROM user_blog_counts WHERE user_id = $1", ids[1])
        await conn.execute(
            "UPDATE user_favorite_counts SET favorite_count = 40 WHERE user_id = $1", ids[0]
        )
        await conn.execute("UPDATE tags SET blog_count = 9 WHERE name = 'green'")
        await conn.execute(
            "UPDATE blogs SET favorites_count = 7 WHERE id = (SELECT min(id) FROM blogs)"
        )
        broken = drifted(await counters_against_rows(conn))
        first_blog = await conn.fetchval("SELECT min(id) FROM blogs")
        green = await conn.fetchval("SELECT id FROM tags WHERE name = 'green'")
    assert len(broken) == 5

    script = maintenance.load("counters_repair")
    dry = await maintenance.run(url=url, script=script, params={}, dry_run=True)
    reported = {tuple(row) for result in dry for row in result.rows}
    assert reported == {
        ("blogs", None, 15, 12),
        ("user blogs", ids[1], 0, 4),
        ("user favorites", ids[0], 40, 12),
        ("tag blogs", green, 9, 0),
        ("blog favorites", first_blog, 7, 1),
    }
    async with connect(url) as conn:
        assert len(drifted(await counters_against_rows(conn))) == 5  # the dry run changed nothing

    repaired = await maintenance.run(url=url, script=script, params={})
    assert sum(len(result.rows) for result in repaired) == 5
    async with connect(url) as conn:
        assert drifted(await counters_against_rows(conn)) == []
    again = await maintenance.run(url=url, script=script, params={})
    assert [result.rows for result in again if result.rows] == []


async def _each_open_until_all_ran(url: str, sql: str, args: list[tuple[Any, ...]]) -> None:
    """Run `sql` with each of `args` in a transaction of its own, all left open (under a 2 s
    lock_timeout) until the last has run, then commit them: a statement that waits for another
    writer's counter row fails."""
    connections = [await asyncpg.connect(asyncpg_dsn(url)) for _ in args]
    try:
        for held, values in zip(connections, args, strict=True):
            await held.execute("BEGIN")
            await held.execute("SET LOCAL lock_timeout = '2s'")
            await held.execute(sql, *values)
        for held in connections:
            await held.execute("COMMIT")
    finally:
        for held in connections:
            await held.close()


# Each kind of write a counter trigger follows, as SQL for the n-th of the concurrent writers:
# all by one user, so they share the user's counter as well as the slots of all blogs.
COUNTER_ROWS = (
    "SELECT (SELECT count(*) FROM user_blog_counts), (SELECT count(*) FROM user_favorite_counts)"
)
WRITES = {
    "blog written": "INSERT INTO blogs (user_id, title, body) VALUES ($1, 'Blog ' || $2, 'text')",
    "blog deleted": "DELETE FROM blogs WHERE user_id = $1 AND title = 'Old ' || $2",
    "favorite made": (
        "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
        "SELECT $1, id, created_at FROM blogs WHERE title = 'Old ' || $2"
    ),
    "favorite removed": (
        "DELETE FROM favorites WHERE user_id = $1 "
        "AND blog_id = (SELECT id FROM blogs WHERE title = 'Old ' || $2)"
    ),
}


@pytest.mark.parametrize("write", WRITES)
async def test_concurrent_writers_of_one_user_never_wait_for_each_others_counters(
    scratch_database: ScratchDatabase, write: str
) -> None:
    # More open transactions than the 8 slots and the one row per user before 0022: each
    # statement must finish while all the others still hold what they changed.
    writers = 12
    url = await scratch_database()
    async with connect(url) as conn:
        user_id = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) "
            "VALUES ('Busy', 'busy@example.com', 'x') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO blogs (user_id, title, body) "
            "SELECT $1, 'Old ' || i, 'text' FROM generate_series(0, $2 - 1) AS i",
            user_id,
            writers,
        )
        if write in ("favorite removed", "blog deleted"):
            # A deleted blog's favorites go too: each deletion also counts for two users.
            fan_id = await conn.fetchval(
                "INSERT INTO users (name, email, password_hash) "
                "VALUES ('Fan', 'fan@example.com', 'x') RETURNING id"
            )
            await conn.execute(
                "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
                "SELECT u, id, created_at FROM blogs, unnest($1::bigint[]) AS u",
                [user_id] if write == "favorite removed" else [user_id, fan_id],
            )
    await _each_open_until_all_ran(url, WRITES[write], [(user_id, str(n)) for n in range(writers)])

    async with connect(url) as conn:
        assert drifted(await counters_against_rows(conn)) == []
        before = tuple(await conn.fetchrow(COUNTER_ROWS))
        # One writer at a time adds to the lowest slot, which exists once the user has a row.
        await conn.execute(
            "INSERT INTO blogs (user_id, title, body) VALUES ($1, 'One more', 'text')", user_id
        )
        await conn.execute(
            "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
            "SELECT $1, id, created_at FROM blogs WHERE title = 'One more'",
            user_id,
        )
        after = tuple(await conn.fetchrow(COUNTER_ROWS))
        assert drifted(await counters_against_rows(conn)) == []
    # Each concurrent writer took a slot of its own: as many rows as writers at once.
    assert before[0 if write.startswith("blog") else 1] == writers
    assert after == tuple(max(rows, 1) for rows in before)


async def test_a_blog_favorited_by_thousands_is_favorited_and_deleted_in_one_statement_each(
    scratch_database: ScratchDatabase,
) -> None:
    # More users than PostgreSQL's lock table holds locks (by default 64 a connection, 100
    # connections, and some room to spare: 20,000 advisory locks in one transaction fail):
    # a statement counting for many users must not take a lock per user to pick their slots.
    fans = 25_000
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute(
            "INSERT INTO users (name, email, password_hash) "
            "SELECT 'Fan ' || i, 'fan' || i || '@example.com', 'x' "
            "FROM generate_series(1, $1) AS i",
            fans,
        )
        blog_id = await conn.fetchval(
            "INSERT INTO blogs (user_id, title, body) "
            "VALUES ((SELECT min(id) FROM users), 'Loved', 'text') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO favorites (user_id, blog_id, blog_created_at) "
            "SELECT u.id, b.id, b.created_at FROM users AS u, blogs AS b"
        )
        assert await conn.fetchval("SELECT favorites_count FROM blogs") == fans
        assert drifted(await counters_against_rows(conn)) == []
        await conn.execute("DELETE FROM blogs WHERE id = $1", blog_id)
        assert drifted(await counters_against_rows(conn)) == []
        assert await conn.fetchval("SELECT sum(favorite_count) FROM user_favorite_counts") == 0


TAG_WRITES = {
    # A blog deleted with its tag: the cascade unlinks it.
    "tag unlinked": "DELETE FROM blogs WHERE title = 'Old ' || $1",
    "tag linked": (
        "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
        "SELECT b.id, t.id, b.created_at FROM blogs AS b, tags AS t "
        "WHERE b.title = 'Old ' || $1 AND t.name = 'hot'"
    ),
}
TAG_SLOT_ROWS = (
    "SELECT count(*) FROM tag_blog_counts WHERE tag_id = (SELECT id FROM tags WHERE name = 'hot')"
)


@pytest.mark.parametrize("write", TAG_WRITES)
async def test_concurrent_writers_of_one_tag_never_wait_for_its_count(
    scratch_database: ScratchDatabase, write: str
) -> None:
    # Before 0024 each of these statements updated the tag's one row and held it until its
    # commit: the second writer waited for the first.
    writers = 12
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute(
            "INSERT INTO users (name, email, password_hash) "
            "VALUES ('Busy', 'busy@example.com', 'x')"
        )
        await conn.execute("INSERT INTO tags (name) VALUES ('hot')")
        await conn.execute(
            "INSERT INTO blogs (user_id, title, body) "
            "SELECT (SELECT id FROM users), 'Old ' || i, 'text' "
            "FROM generate_series(0, $1) AS i",
            writers,
        )
        if write == "tag unlinked":
            await conn.execute(
                "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
                "SELECT b.id, t.id, b.created_at FROM blogs AS b, tags AS t"
            )
    await _each_open_until_all_ran(url, TAG_WRITES[write], [(str(n),) for n in range(writers)])

    async with connect(url) as conn:
        assert drifted(await counters_against_rows(conn)) == []
        # The first took the tag's row; each other writer a slot of its own.
        parked = await conn.fetchval(TAG_SLOT_ROWS)
        # The next writer alone takes the row and leaves the slots to the fold (0026).
        await conn.execute(TAG_WRITES[write], str(writers))
        assert drifted(await counters_against_rows(conn)) == []
        left = await conn.fetchval(TAG_SLOT_ROWS)
        assert await conn.fetchval("SELECT tag_counts_fold()") == 1
        assert drifted(await counters_against_rows(conn)) == []
        assert await conn.fetchval(TAG_SLOT_ROWS) == 0
    assert parked == left == writers - 1


async def test_the_most_used_tags_and_a_tags_count_add_the_slots(
    scratch_database: ScratchDatabase,
) -> None:
    """`alpha` carries 4 blogs and `beta` 3. Two of alpha's blogs are deleted while another
    transaction holds alpha's row: its row still says 4, and its slot -2. The most used tags,
    its count on the list and the repair all see 2."""
    url = await scratch_database()
    async with in_process(url) as client:
        author = await sign_up_with(client, "Ada")
        made = {}
        for n, tags in enumerate([["alpha"]] * 4 + [["beta"]] * 3):
            response = await client.post(
                "/blogs", json={"title": f"t{n}", "body": "b", "tags": tags}, headers=author.headers
            )
            assert response.status_code == 201, response.text
            made.setdefault(tags[0], []).append(response.json()["id"])
        async with connect(url) as holder, connect(url) as conn:
            held = holder.transaction()
            await held.start()
            await holder.execute("SELECT FROM tags WHERE name = 'alpha' FOR NO KEY UPDATE")
            await conn.execute("SET lock_timeout = '2s'")
            await conn.execute("DELETE FROM blogs WHERE id = ANY ($1::bigint[])", made["alpha"][:2])
            await held.rollback()
            stored = await conn.fetchrow(
                "SELECT t.blog_count AS own, sum(s.blog_count)::bigint AS slots FROM tags AS t"
                " JOIN tag_blog_counts AS s ON s.tag_id = t.id WHERE t.name = 'alpha'"
                " GROUP BY t.id"
            )
            assert drifted(await counters_against_rows(conn)) == []
        assert (stored["own"], stored["slots"]) == (4, -2)

        listed = (await client.get("/tags")).json()["items"]
        assert [(tag["name"], tag["blogs"]) for tag in listed] == [("beta", 3), ("alpha", 2)]
        assert (await client.get("/api/tags")).json()["tags"] == ["beta", "alpha"]
        page = (await client.get("/api/articles", params={"tag": "alpha"})).json()
        assert page["articlesCount"] == len(page["articles"]) == 2

    # Nothing drifted; the repair folds the slot into the row.
    repaired = await maintenance.run(url=url, script=maintenance.load("counters_repair"), params={})
    assert [result.rows for result in repaired if result.rows] == []
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM tag_blog_counts") == 0
        assert await conn.fetchval("SELECT blog_count FROM tags WHERE name = 'alpha'") == 2


async def _leave_slot_rows(url: str, tag: str, blog_ids: list[int]) -> None:
    """Delete `blog_ids` while another transaction holds `tag`'s row: their counts go to slot
    rows, which stay until a fold takes them back."""
    async with connect(url) as holder, connect(url) as conn:
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT FROM tags WHERE name = $1 FOR NO KEY UPDATE", tag)
        await conn.execute("SET lock_timeout = '2s'")
        for blog_id in blog_ids:
            await conn.execute("DELETE FROM blogs WHERE id = $1", blog_id)
        await held.rollback()


async def test_tag_counts_fold_takes_every_free_slot_row_and_skips_held_ones(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with connect(url) as conn:
        await conn.execute(
            "INSERT INTO users (name, email, password_hash) VALUES ('A', 'a@example.com', 'x')"
        )
        await conn.execute("INSERT INTO tags (name) VALUES ('red'), ('blue')")
        ids = await conn.fetch(
            "INSERT INTO blogs (user_id, title, body) "
            "SELECT (SELECT id FROM users), 'Blog', 'text' FROM generate_series(1, 6) "
            "RETURNING id"
        )
        blog_ids = [row["id"] for row in ids]
        # Three blogs for each tag.
        await conn.execute(
            "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at) "
            "SELECT b.id, t.id, b.created_at FROM blogs AS b, tags AS t "
            "WHERE (t.name = 'red') = (b.id <= $1)",
            blog_ids[2],
        )
    await _leave_slot_rows(url, "red", blog_ids[:2])
    await _leave_slot_rows(url, "blue", blog_ids[3:5])
    async with connect(url) as conn, connect(url) as writer:
        assert await conn.fetchval("SELECT count(*) FROM tag_blog_counts") == 2
        # A writer holding blue's slot (its advisory lock): blue's slot row is left for later.
        busy = writer.transaction()
        await busy.start()
        await writer.fetchval("SELECT counter_slot_lock(3, id, 1) FROM tags WHERE name = 'blue'")
        assert await conn.fetchval("SELECT tag_counts_fold()") == 2  # both tags' rows taken
        left = await conn.fetch(
            "SELECT t.name FROM tag_blog_counts JOIN tags AS t ON t.id = tag_id"
        )
        await busy.rollback()
        assert drifted(await counters_against_rows(conn)) == []
        # A writer holding the slot row itself (one that found every slot taken): skipped too,
        # without waiting for it.
        busy = writer.transaction()
        await busy.start()
        await writer.execute("SELECT FROM tag_blog_counts FOR UPDATE")
        await conn.execute("SET lock_timeout = '1s'")
        assert await conn.fetchval("SELECT tag_counts_fold()") == 1
        assert await conn.fetchval("SELECT count(*) FROM tag_blog_counts") == 1
        await busy.rollback()
        assert await conn.fetchval("SELECT tag_counts_fold()") == 1
        assert await conn.fetchval("SELECT count(*) FROM tag_blog_counts") == 0
        assert drifted(await counters_against_rows(conn)) == []
        assert await conn.fetchval("SELECT tag_counts_fold()") == 0
    assert [row["name"] for row in left] == ["blue"]
