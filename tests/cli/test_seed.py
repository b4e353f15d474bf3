import statistics

import anyio.to_thread
import pytest

from service.cli import main as cli
from service.cli.seed import SEED_PASSWORD, Plan, seed
from service.passwords import PasswordHasher
from tests.utils import ScratchDatabase, fetch

pytestmark = pytest.mark.anyio


async def counts(url: str) -> tuple[int, int]:
    [row] = await fetch(url, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM blogs)")
    return row[0], row[1]


async def test_counts_and_constraints(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    done = await seed(url, Plan(users=300, blogs=6_000, seed=7, batch_size=1_000))
    assert (done.users, done.blogs) == (300, 6_000)
    assert await counts(url) == (300, 6_000)

    [users] = await fetch(
        url,
        """
        SELECT count(*) FILTER (WHERE email <> lower(email)) AS upper_case,
               count(DISTINCT email) AS distinct_emails,
               count(*) FILTER (WHERE email NOT LIKE '%_@_%') AS malformed,
               count(*) FILTER (WHERE char_length(btrim(name)) NOT BETWEEN 1 AND 100) AS bad_names,
               count(DISTINCT password_hash) AS hashes,
               min(password_hash) AS password_hash,
               min(id) AS min_id, max(id) AS max_id
        FROM users
        """,
    )
    assert users["upper_case"] == users["malformed"] == users["bad_names"] == 0
    assert users["distinct_emails"] == 300
    assert users["hashes"] == 1
    hasher = PasswordHasher(concurrency=1, wait_seconds=5)
    assert await hasher.verify(SEED_PASSWORD, users["password_hash"]) == (True, None)
    assert (users["min_id"], users["max_id"]) == (1, 300)

    [blogs] = await fetch(
        url,
        """
        SELECT count(*) FILTER (WHERE title <> btrim(title)
                                   OR char_length(title) NOT BETWEEN 1 AND 200) AS bad_titles,
               min(char_length(body)) AS shortest, max(char_length(body)) AS longest,
               avg(char_length(body)) AS mean_body,
               count(*) FILTER (WHERE b.updated_at < b.created_at) AS edited_before_written,
               count(*) FILTER (WHERE b.updated_at > b.created_at) AS edited,
               count(*) FILTER (WHERE b.created_at < u.created_at) AS before_author,
               count(*) FILTER (WHERE u.id IS NULL) AS orphans,
               max(b.created_at) - min(b.created_at) AS span
        FROM blogs AS b LEFT JOIN users AS u ON u.id = b.user_id
        """,
    )
    assert blogs["bad_titles"] == blogs["edited_before_written"] == 0
    assert blogs["before_author"] == blogs["orphans"] == 0
    assert blogs["shortest"] >= 250
    assert blogs["longest"] <= 800
    assert 450 <= blogs["mean_body"] <= 560
    assert 0.15 * 6_000 < blogs["edited"] < 0.35 * 6_000
    assert blogs["span"].days >= 700

    # Newer blogs have larger ids, as when they are written one by one.
    [order] = await fetch(
        url,
        "SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (ORDER BY id) AS back "
        "FROM blogs) AS t WHERE back",
    )
    assert order[0] == 0

    # The identity sequences are in step: the next row written without an id does not collide.
    [next_user] = await fetch(
        url,
        "INSERT INTO users (name, email, password_hash) VALUES ('N', 'n@example.com', 'x') "
        "RETURNING id",
    )
    assert next_user["id"] == 301

    # VACUUM ANALYZE ran: the planner knows the table's size.
    [stats] = await fetch(url, "SELECT reltuples FROM pg_class WHERE relname = 'blogs'")
    assert stats["reltuples"] >= 0.9 * 6_000


async def test_authors_are_skewed(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    await seed(url, Plan(users=500, blogs=10_000, seed=11))
    rows = await fetch(
        url,
        "SELECT count(b.id) AS n FROM users AS u LEFT JOIN blogs AS b ON b.user_id = u.id "
        "GROUP BY u.id ORDER BY n DESC",
    )
    per_user = [row["n"] for row in rows]
    top_tenth = sum(per_user[: len(per_user) // 10])
    assert top_tenth > 0.4 * 10_000, "the top 10% of authors write most blogs"
    assert per_user[0] > 5 * statistics.median(per_user)
    assert statistics.median(per_user) < statistics.mean(per_user)
    assert per_user[0] < 0.2 * 10_000, "no one writes nearly everything"


async def test_the_same_seed_gives_the_same_rows(scratch_database: ScratchDatabase) -> None:
    first, second = await scratch_database(), await scratch_database()
    sql = "SELECT b.user_id, b.title, b.body, u.email FROM blogs b JOIN users u ON u.id = b.user_id"
    for url in (first, second):
        await seed(url, Plan(users=40, blogs=400, seed=3, batch_size=64))
    assert await fetch(first, sql + " ORDER BY b.id") == await fetch(second, sql + " ORDER BY b.id")


async def test_appends_then_truncates(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    await seed(url, Plan(users=20, blogs=100, seed=1))
    await seed(url, Plan(users=20, blogs=100, seed=1))
    assert await counts(url) == (40, 200)
    [emails] = await fetch(url, "SELECT count(DISTINCT lower(email)) FROM users")
    assert emails[0] == 40

    await seed(url, Plan(users=10, blogs=50, seed=1, truncate=True))
    assert await counts(url) == (10, 50)
    [ids] = await fetch(url, "SELECT min(id), max(id) FROM blogs")
    assert (ids[0], ids[1]) == (1, 50)


async def test_cli(
    scratch_database: ScratchDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = await scratch_database(migrated=False)
    monkeypatch.setenv("DATABASE_URL", url)
    argv = ["seed", "--users", "50", "--blogs", "500", "--seed", "5", "--truncate"]
    # main() runs its own event loop, so it gets a thread of its own.
    assert await anyio.to_thread.run_sync(cli.main, argv) == 0
    out = capsys.readouterr()
    assert "seeded 50 users and 500 blogs" in out.out
    assert SEED_PASSWORD in out.out
    assert "rows/s" in out.err
    assert await counts(url) == (50, 500)


async def test_cli_refuses_blogs_without_authors(
    scratch_database: ScratchDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = await scratch_database()
    monkeypatch.setenv("DATABASE_URL", url)
    argv = ["seed", "--users", "0", "--blogs", "10"]
    assert await anyio.to_thread.run_sync(cli.main, argv) == 2
    assert "authors" in capsys.readouterr().err
    assert await counts(url) == (0, 0)
