import statistics

import anyio.to_thread
import pytest

from service.cli import main as cli
from service.cli import seed as seed_module
from service.cli.seed import MAX_COMMENTS, MAX_FOLLOWS, SEED_PASSWORD, TAG_NAMES, Plan, seed
from service.passwords import PasswordHasher
from service.testing.databases import ScratchDatabase, fetch

pytestmark = pytest.mark.anyio


async def counts(url: str) -> tuple[int, int]:
    [row] = await fetch(url, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM blogs)")
    return row[0], row[1]


async def extras(url: str) -> dict[str, int]:
    tables = ("tags", "blog_tags", "favorites", "follows", "comments")
    [row] = await fetch(
        url, "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in tables)
    )
    return dict(row)


async def assert_counters_right(url: str) -> None:
    """The counters the triggers keep agree with the rows they count."""
    [wrong] = await fetch(
        url,
        """
        SELECT (SELECT count(*) FROM tags AS t
                WHERE t.blog_count <> (SELECT count(*) FROM blog_tags WHERE tag_id = t.id))
                   AS tags,
               (SELECT count(*) FROM blogs AS b
                WHERE b.favorites_count <> (SELECT count(*) FROM favorites WHERE blog_id = b.id))
                   AS blogs,
               (SELECT count(*) FROM users AS u
                WHERE (SELECT coalesce(sum(favorite_count), 0) FROM user_favorite_counts
                       WHERE user_id = u.id)
                      <> (SELECT count(*) FROM favorites WHERE user_id = u.id))
                   AS user_favorites,
               (SELECT count(*) FROM users AS u
                WHERE (SELECT coalesce(sum(blog_count), 0) FROM user_blog_counts
                       WHERE user_id = u.id)
                      <> (SELECT count(*) FROM blogs WHERE user_id = u.id))
                   AS user_blogs,
               (SELECT sum(blog_count) FROM blog_count_slots) - (SELECT count(*) FROM blogs)
                   AS all_blogs
        """,
    )
    assert dict(wrong) == {
        "tags": 0,
        "blogs": 0,
        "user_favorites": 0,
        "user_blogs": 0,
        "all_blogs": 0,
    }


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

    # VACUUM ANALYZE ran: the planner knows the tables' sizes.
    [stats] = await fetch(url, "SELECT reltuples FROM pg_class WHERE relname = 'blogs'")
    assert stats["reltuples"] >= 0.9 * 6_000
    [stats] = await fetch(url, "SELECT reltuples FROM pg_class WHERE relname = 'favorites'")
    assert stats["reltuples"] > 0


async def test_extras(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    done = await seed(url, Plan(users=300, blogs=6_000, seed=7, batch_size=1_000))
    rows = await extras(url)
    assert rows["tags"] == len(TAG_NAMES) == 50
    assert (done.blog_tags, done.favorites, done.follows, done.comments) == (
        rows["blog_tags"],
        rows["favorites"],
        rows["follows"],
        rows["comments"],
    )
    await assert_counters_right(url)

    # Tags: 0 to 3 a blog, 1.5 on average; a few tags are on most tagged blogs.
    [tags] = await fetch(
        url,
        """
        SELECT min(n) AS fewest, max(n) AS most, avg(n) AS mean,
               count(*) FILTER (WHERE n = 0) AS untagged
        FROM (SELECT count(bt.tag_id) AS n FROM blogs AS b
              LEFT JOIN blog_tags AS bt ON bt.blog_id = b.id GROUP BY b.id) AS t
        """,
    )
    assert (tags["fewest"], tags["most"]) == (0, 3)
    assert 1.3 < tags["mean"] < 1.7
    assert 0.1 * 6_000 < tags["untagged"] < 0.3 * 6_000
    per_tag = [row[0] for row in await fetch(url, "SELECT blog_count FROM tags ORDER BY 1 DESC")]
    assert per_tag[0] > 0.15 * rows["blog_tags"]
    assert per_tag[0] > 5 * statistics.median(per_tag)
    assert per_tag[-1] > 0, "every tag is used"

    # Favorites: 2.5 a blog on average, skewed: half the blogs none, a few many.
    [favorites] = await fetch(
        url,
        """
        SELECT avg(n) AS mean, max(n) AS most, count(*) FILTER (WHERE n = 0) AS none
        FROM (SELECT count(f.user_id) AS n FROM blogs AS b
              LEFT JOIN favorites AS f ON f.blog_id = b.id GROUP BY b.id) AS t
        """,
    )
    assert 1.8 < favorites["mean"] < 3.2
    assert favorites["most"] > 10 * favorites["mean"]
    assert 0.3 * 6_000 < favorites["none"] < 0.7 * 6_000

    # Comments: 0 to 3 a blog.
    [comments] = await fetch(
        url,
        """
        SELECT min(n) AS fewest, max(n) AS most, avg(n) AS mean
        FROM (SELECT count(c.id) AS n FROM blogs AS b
              LEFT JOIN comments AS c ON c.blog_id = b.id GROUP BY b.id) AS t
        """,
    )
    assert (comments["fewest"], comments["most"]) == (0, MAX_COMMENTS)
    assert 1.2 < comments["mean"] < 1.8

    # Follows: 0 to 20 a user, authors with more blogs followed more.
    [follows] = await fetch(
        url,
        """
        SELECT min(n) AS fewest, max(n) AS most, avg(n) AS mean
        FROM (SELECT count(f.followed_id) AS n FROM users AS u
              LEFT JOIN follows AS f ON f.follower_id = u.id GROUP BY u.id) AS t
        """,
    )
    assert (follows["fewest"], follows["most"]) == (0, MAX_FOLLOWS)
    assert 8 < follows["mean"] < 12
    [followed] = await fetch(
        url,
        """
        SELECT corr(blogs, followers) AS r
        FROM (SELECT (SELECT count(*) FROM blogs WHERE user_id = u.id) AS blogs,
                     (SELECT count(*) FROM follows WHERE followed_id = u.id) AS followers
              FROM users AS u) AS t
        """,
    )
    assert followed["r"] > 0.5

    # Every row comes after what it points at, and before now; the copies of a blog's
    # created_at are its created_at.
    [times] = await fetch(
        url,
        """
        SELECT
          (SELECT count(*) FROM blog_tags AS bt JOIN blogs AS b ON b.id = bt.blog_id
           WHERE bt.blog_created_at <> b.created_at) AS tag_copies,
          (SELECT count(*) FROM favorites AS f JOIN blogs AS b ON b.id = f.blog_id
           WHERE f.blog_created_at <> b.created_at) AS favorite_copies,
          (SELECT count(*) FROM favorites AS f
           JOIN blogs AS b ON b.id = f.blog_id JOIN users AS u ON u.id = f.user_id
           WHERE f.created_at < b.created_at OR f.created_at < u.created_at
              OR f.created_at > now()) AS favorites,
          (SELECT count(*) FROM comments AS c
           JOIN blogs AS b ON b.id = c.blog_id JOIN users AS u ON u.id = c.user_id
           WHERE c.created_at < b.created_at OR c.created_at < u.created_at
              OR c.updated_at <> c.created_at OR c.created_at > now()
              OR c.body <> btrim(c.body) OR char_length(c.body) NOT BETWEEN 10 AND 300)
             AS comments,
          (SELECT count(*) FROM follows AS f
           JOIN users AS a ON a.id = f.follower_id JOIN users AS b ON b.id = f.followed_id
           WHERE f.created_at < a.created_at OR f.created_at < b.created_at
              OR f.created_at > now()) AS follows,
          (SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER w AS back
                                 FROM comments WINDOW w AS (PARTITION BY blog_id ORDER BY id))
                                AS t WHERE back) AS comments_out_of_order
        """,
    )
    assert dict(times) == dict.fromkeys(times.keys(), 0)


async def test_counters_by_the_triggers(
    scratch_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seed that may not turn the triggers off lets them keep the counters."""

    async def no(conn: object) -> bool:
        return False

    monkeypatch.setattr(seed_module, "_can_skip_triggers", no)
    url = await scratch_database()
    done = await seed(url, Plan(users=50, blogs=500, seed=7, batch_size=128))
    assert done.blog_tags > 0 and done.favorites > 0
    await assert_counters_right(url)
    [total] = await fetch(url, "SELECT sum(blog_count) AS n FROM tags")
    assert total["n"] == done.blog_tags


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
    # Timestamps count back from the time of seeding, so they are left out.
    queries = (
        "SELECT b.user_id, b.title, b.body, b.favorites_count, u.email "
        "FROM blogs b JOIN users u ON u.id = b.user_id ORDER BY b.id",
        "SELECT blog_id, t.name FROM blog_tags JOIN tags AS t ON t.id = tag_id ORDER BY 1, 2",
        "SELECT blog_id, user_id FROM favorites ORDER BY 1, 2",
        "SELECT follower_id, followed_id FROM follows ORDER BY 1, 2",
        "SELECT id, blog_id, user_id, body FROM comments ORDER BY id",
    )
    for url in (first, second):
        await seed(url, Plan(users=40, blogs=400, seed=3, batch_size=64))
    for sql in queries:
        assert await fetch(first, sql) == await fetch(second, sql)


async def test_appends_then_truncates(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    one = await seed(url, Plan(users=20, blogs=100, seed=1))
    two = await seed(url, Plan(users=20, blogs=100, seed=1))
    assert await counts(url) == (40, 200)
    [emails] = await fetch(url, "SELECT count(DISTINCT lower(email)) FROM users")
    assert emails[0] == 40
    # The second seed found the tags there and counted on from the first's counts.
    rows = await extras(url)
    assert rows["tags"] == len(TAG_NAMES)
    assert rows["blog_tags"] == one.blog_tags + two.blog_tags
    assert rows["favorites"] == one.favorites + two.favorites
    await assert_counters_right(url)
    # Each seed's favorites, comments and follows stay among its own users and blogs.
    [mixed] = await fetch(
        url,
        "SELECT count(*) FROM favorites AS f JOIN blogs AS b ON b.id = f.blog_id "
        "WHERE (f.user_id <= 20) <> (b.id <= 100)",
    )
    assert mixed[0] == 0

    await seed(url, Plan(users=10, blogs=50, seed=1, truncate=True))
    assert await counts(url) == (10, 50)
    [ids] = await fetch(url, "SELECT min(id), max(id) FROM blogs")
    assert (ids[0], ids[1]) == (1, 50)
    await assert_counters_right(url)
    [ids] = await fetch(url, "SELECT min(id), max(id) FROM tags")
    assert (ids[0], ids[1]) == (1, len(TAG_NAMES))
    [ids] = await fetch(url, "SELECT min(id) FROM comments")
    assert ids[0] == 1
    [orphans] = await fetch(
        url,
        "SELECT (SELECT count(*) FROM favorites WHERE blog_id > 50 OR user_id > 10)"
        " + (SELECT count(*) FROM follows WHERE follower_id > 10 OR followed_id > 10)",
    )
    assert orphans[0] == 0


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
    assert "favorites" in out.out
    assert all((await extras(url)).values())


async def test_cli_without_extras(
    scratch_database: ScratchDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = await scratch_database()
    monkeypatch.setenv("DATABASE_URL", url)
    argv = ["seed", "--users", "20", "--blogs", "100", "--no-extras"]
    assert await anyio.to_thread.run_sync(cli.main, argv) == 0
    assert "seeded 20 users and 100 blogs in" in capsys.readouterr().out
    assert await counts(url) == (20, 100)
    assert set((await extras(url)).values()) == {0}


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


def test_the_help_names_the_password_and_no_setting_for_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["seed", "--help"])
    text = capsys.readouterr().out
    assert "`seeded-password`" in text
    assert "SEED_PASSWORD" not in text
