"""`python -m service seed`: fill the database with realistic fake data, fast.

Users and blogs, and with them (unless --no-extras) tags on the blogs, favorites, follows and
comments. Rows go in through COPY (asyncpg's `copy_records_to_table`) in batches, the next batch
being generated in a thread while the server ingests the current one, so memory stays flat at any
size.

Every seeded user's password is `seeded-password`, fixed (there is no setting for it): one
Argon2 hash, computed once, is shared by all of them. Emails are `first.last.<id>@example.com`,
lower-case; usernames and slugs come from the tables' own triggers.

Authors are skewed: each user's share of the blogs is log-normal, so a few write thousands and
most write a handful or none. Blogs span the last two years in id order; a quarter of them were
edited later. Users signed up during the year before that, so no blog predates its author.

The extras are skewed too: a blog carries 0 to 3 of 50 tags, drawn by Zipf's law (the first is
on about a third of the tagged blogs); its favorites are log-normal (2.5 on average, none on a
third of the blogs, hundreds on the most popular); it has 0 to 3 comments. Each user follows 0
to 20 others, authors with more blogs more often. Favorites, comments and follows come after what
they point at, and before now.

The counters the triggers keep on links (tags.blog_count, blogs.favorites_count, each user's
favorites) cost one UPDATE per row seeded, all in one transaction and mostly on the same few tag
rows, whose versions pile up: the cost grows with the square of the tag links. When the seed
connects as a superuser it skips them: the links go in with `session_replication_role = replica`
(no triggers, no foreign-key checks: the rows are consistent by construction), each blog is
copied with its favorites count, and each tag's count and each user's favorites grow by one
statement each at the end. Otherwise the triggers keep the counters.
"""

import argparse
import asyncio
import itertools
import random
import sys
import time
from array import array
from bisect import bisect
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from service.cli.database_url import direct_url
from service.db import migrations
from service.db.search import session_settings
from service.db.urls import connect_to_primary
from service.passwords import PasswordHasher
from service.settings import Settings
from service.timestamps import from_micros, to_micros

SEED_PASSWORD = "seeded-password"  # noqa: S105 - documented, shared by every seeded user
BLOG_SPAN = timedelta(days=730)
SIGNUP_SPAN = timedelta(days=365)
EDITED_SHARE = 0.25
# sigma of the log-normal author weights: the top 10% of authors write about 60% of the blogs.
AUTHOR_SIGMA = 1.5
# How many blogs carry 0, 1, 2 and 3 tags, relatively: 1.5 tags a blog on average.
TAGS_PER_BLOG = (2, 3, 3, 2)
# Favorites per blog: a log-normal weight (mean e^(sigma^2/2), about 3.1) times the scale.
FAVORITES_SIGMA = 1.5
FAVORITES_SCALE = 0.8
MAX_COMMENTS = 3
MAX_FOLLOWS = 20

USER_COLUMNS = ("id", "name", "email", "password_hash", "created_at")
BLOG_COLUMNS = ("id", "user_id", "title", "body", "created_at", "updated_at")
BLOG_TAG_COLUMNS = ("blog_id", "tag_id", "blog_created_at")
FAVORITE_COLUMNS = ("user_id", "blog_id", "blog_created_at", "created_at")
COMMENT_COLUMNS = ("blog_id", "user_id", "body", "created_at", "updated_at")
FOLLOW_COLUMNS = ("follower_id", "followed_id", "created_at")

# Tags, most used first: the n-th is drawn in proportion to 1/n.
_TAG_NAMES = (
    "python postgres sql performance databases fastapi async testing devops linux security web "
    "api-design architecture career open-source rust go javascript typescript docker kubernetes "
    "cloud observability caching indexing migrations refactoring debugging tooling git ci "
    "packaging concurrency networking http json data machine-learning statistics books writing "
    "travel cooking music photography gardening running coffee productivity"
)

_FIRST_NAMES = (
    "Ada Alan Grace Linus Barbara Edsger Donald Margaret Ken Dennis Guido Bjarne Frances Radia "
    "John Katherine Tim Vint Leslie Niklaus Hedy Anita Fernando Shafi Silvio Yukihiro Rasmus "
    "Sophie Joan Clara Mary Carl Emmy Henri Sofia Ingrid Omar Priya Wei Kenji Amara Lucia "
    "Mateo Noor Olga Pablo Quinn Rosa Sanjay Tariq"
)
_LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds Liskov Dijkstra Knuth Hamilton Thompson Ritchie Rossum "
    "Stroustrup Allen Perlman McCarthy Johnson Berners-Lee Cerf Lamport Wirth Lamarr Borg "
    "Corbato Goldwasser Micali Matsumoto Lerdorf Wilson Clarke Shannon Keller Gauss Noether "
    "Poincare Kovalevskaya Daubechies Khayyam Patel Zhang Tanaka Okafor Rossi Garcia Haddad "
    "Petrova Ortiz Murphy Silva Rao Aziz"
)
_WORDS = (
    "the a of to and in is it for on with as that this at by from about query index table "
    "row page cursor keyset database server request latency cache pool connection async "
    "python postgres schema migration column value type field model token user blog post "
    "title body write read update delete select insert order limit offset plan scan join "
    "fast slow small large simple careful quiet bright early late first last every other "
    "morning evening week month year garden coffee river mountain city street window book "
    "music train letter story idea note draft review release test bug fix feature design "
    "build deploy monitor measure learn teach share travel cook walk run think notice"
)
FIRST_NAMES, LAST_NAMES, WORDS = (_FIRST_NAMES.split(), _LAST_NAMES.split(), _WORDS.split())
TAG_NAMES = _TAG_NAMES.split()

_SUPERUSER = "SELECT current_setting('is_superuser') = 'on'"
_ADD_TAGS = "INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING"
_TAG_IDS = "SELECT name, id FROM tags WHERE name = ANY ($1::text[])"
_COUNT_TAGS = (
    "UPDATE tags AS t SET blog_count = t.blog_count + c.n "
    "FROM unnest($1::bigint[], $2::bigint[]) AS c (id, n) WHERE t.id = c.id"
)
_COUNT_USER_FAVORITES = (
    "INSERT INTO user_favorite_counts AS c (user_id, slot, favorite_count) "
    "SELECT f.user_id, 0, f.n FROM unnest($1::bigint[], $2::bigint[]) AS f (user_id, n) "
    "ON CONFLICT (user_id, slot) "
    "DO UPDATE SET favorite_count = c.favorite_count + excluded.favorite_count"
)
_NEXT_IDS = "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)"
_TABLES = ("users", "blogs", "tags", "blog_tags", "favorites", "follows", "comments")

Row = tuple[Any, ...]
Batch = TypeVar("Batch")


@dataclass(frozen=True)
class Plan:
    users: int
    blogs: int
    seed: int | None = None
    batch_size: int = 10_000
    truncate: bool = False
    extras: bool = True
    """Tags, favorites, follows and comments too."""


@dataclass(frozen=True)
class Seeded:
    users: int
    blogs: int
    seconds: float
    blog_tags: int = 0
    favorites: int = 0
    follows: int = 0
    comments: int = 0

    @property
    def rows(self) -> int:
        extras = self.blog_tags + self.favorites + self.follows + self.comments
        return self.users + self.blogs + extras


@dataclass
class Blogs:
    """A batch of blogs and the rows that hang on them."""

    blogs: list[Row] = field(default_factory=list)
    blog_tags: list[Row] = field(default_factory=list)
    favorites: list[Row] = field(default_factory=list)
    comments: list[Row] = field(default_factory=list)


class Progress:
    """Rows done and rows per second on stderr, at most a few times a second."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.shown = time.monotonic()
        self.tty = sys.stderr.isatty()

    def add(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.shown >= (0.5 if self.tty else 5.0) or self.done == self.total:
            self.shown = now
            rate = self.done / max(now - self.started, 1e-9)
            line = f"{self.label}: {self.done:,}/{self.total:,} rows, {rate:,.0f} rows/s"
            end = "\n" if self.done == self.total or not self.tty else ""
            print(f"\r{line}", end=end, file=sys.stderr, flush=True)


class Text:
    """Titles, ~500-character bodies and short comments cut from a pre-generated corpus of
    sentences."""

    def __init__(self, rng: random.Random, sentences: int = 20_000) -> None:
        self.rng = rng
        parts: list[str] = []
        starts = array("l")
        offset = 0
        for _ in range(sentences):
            words = rng.choices(WORDS, k=rng.randint(6, 16))
            sentence = " ".join(words).capitalize() + "."
            starts.append(offset)
            parts.append(sentence)
            offset += len(sentence) + 1
        self.corpus = " ".join(parts)
        self.starts = array("l", (s for s in starts if s + 800 < len(self.corpus)))

    def title(self) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 9))).capitalize()

    def body(self) -> str:
        return self._cut(self.rng.randint(400, 700), 200)

    def comment(self) -> str:
        return self._cut(self.rng.randint(40, 300), 20)

    def _cut(self, length: int, shortest: int) -> str:
        """`length` characters from a sentence's start, back to the last full stop past
        `shortest`."""
        start = self.starts[int(self.rng.random() * len(self.starts))]
        text = self.corpus[start : start + length]
        end = text.rfind(".")
        return text[: end + 1] if end > shortest else text.rstrip()


def _draw(cumulative: Sequence[float], rng: random.Random) -> int:
    """An index drawn in proportion to its weight, given the running totals of the weights."""
    return min(bisect(cumulative, rng.random() * cumulative[-1]), len(cumulative) - 1)


class Generator:
    """Deterministic rows for a plan, a batch at a time.

    With `favorites_counted`, each blog row ends with its favorites count, and `tag_links`
    counts the links made to each tag: the counters the triggers would otherwise keep."""

    def __init__(self, plan: Plan, now: datetime, *, favorites_counted: bool = False) -> None:
        self.rng = random.Random(plan.seed)  # noqa: S311 - fake data, not secrets
        self.text = Text(self.rng)
        self.plan = plan
        self.favorites_counted = favorites_counted
        self.now = to_micros(now)
        self.blogs_from = to_micros(now - BLOG_SPAN)
        self.blogs_span = self.now - self.blogs_from
        self.signup_from = self.blogs_from - SIGNUP_SPAN // timedelta(microseconds=1)
        self.user_ids = array("q")
        self.signups = array("q")
        self._cumulative: list[float] = []
        self.tag_ids: list[int] = []
        self.tag_links = [0] * len(TAG_NAMES)
        self.user_favorites: Counter[int] = Counter()
        self._tag_weights = list(itertools.accumulate(1 / n for n in range(1, len(TAG_NAMES) + 1)))
        self._tag_counts = list(itertools.accumulate(TAGS_PER_BLOG))

    def users(self, ids: Sequence[int], password_hash: str) -> list[Row]:
        rng = self.rng
        span = self.blogs_from - self.signup_from
        rows = []
        for user_id in ids:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{user_id}@example.com".lower()
            signed_up = self.signup_from + int(rng.random() * span)
            rows.append((user_id, f"{first} {last}", email, password_hash, from_micros(signed_up)))
            self.signups.append(signed_up)
        self.user_ids.extend(ids)
        return rows

    def _weights(self) -> list[float]:
        """The running totals of the users' log-normal weights, as authors and as followed."""
        if not self._cumulative:
            weights = (self.rng.lognormvariate(0.0, AUTHOR_SIGMA) for _ in self.user_ids)
            self._cumulative = list(itertools.accumulate(weights))
        return self._cumulative

    def _authors(self, count: int) -> list[int]:
        return self.rng.choices(self.user_ids, cum_weights=self._weights(), k=count)

    def blogs(self, first: int, ids: Sequence[int]) -> Blogs:
        """Blogs number `first` to `first + len(ids) - 1` of the plan, oldest first, with
        these ids; and, for a plan with extras, their tags, favorites and comments."""
        rng, text, total = self.rng, self.text, self.plan.blogs
        batch = Blogs()
        for number, blog_id, author in zip(
            itertools.count(first), ids, self._authors(len(ids)), strict=False
        ):
            created = self.blogs_from + int((number + rng.random()) * self.blogs_span / total)
            updated = created
            if rng.random() < EDITED_SHARE:
                updated = min(self.now, created + int(rng.random() * 90 * 86_400_000_000))
            created_at = from_micros(created)
            row: Row = (blog_id, author, text.title(), text.body(), created_at)
            row += (from_micros(updated),)
            if self.plan.extras:
                favorites = self._extras(batch, blog_id, created, created_at)
                if self.favorites_counted:
                    row += (favorites,)
            batch.blogs.append(row)
        return batch

    def _extras(self, batch: Blogs, blog_id: int, created: int, created_at: datetime) -> int:
        """The blog's tags, favorites and comments, added to the batch; its favorites count."""
        rng, users, now = self.rng, self.user_ids, self.now
        tags: set[int] = set()
        wanted = _draw(self._tag_counts, rng)
        while len(tags) < wanted:
            tags.add(_draw(self._tag_weights, rng))
        for tag in sorted(tags):
            batch.blog_tags.append((blog_id, self.tag_ids[tag], created_at))
            self.tag_links[tag] += 1

        weight = rng.lognormvariate(0.0, FAVORITES_SIGMA) * FAVORITES_SCALE
        favorites = min(len(users), int(weight + rng.random()))
        for index in rng.sample(range(len(users)), favorites):
            # Most favorites come soon after the blog was written.
            at = created + int(rng.random() ** 3 * (now - created))
            batch.favorites.append((users[index], blog_id, created_at, from_micros(at)))
            self.user_favorites[users[index]] += 1

        comments = int(rng.random() * (MAX_COMMENTS + 1))
        # In time order, so a blog's comments in id order are oldest first.
        times = sorted(created + int(rng.random() ** 2 * (now - created)) for _ in range(comments))
        for at in times:
            author = users[int(rng.random() * len(users))]
            moment = from_micros(at)
            batch.comments.append((blog_id, author, self.text.comment(), moment, moment))
        return favorites

    def follows(self, first: int, count: int) -> list[Row]:
        """Whom users number `first` to `first + count - 1` of the plan follow: authors with
        more weight more often."""
        rng, users, signups = self.rng, self.user_ids, self.signups
        weights = self._weights()
        population = range(len(users))
        rows = []
        for index in range(first, first + count):
            wanted = min(len(users) - 1, int(rng.random() * (MAX_FOLLOWS + 1)))
            chosen: dict[int, None] = {}
            # A heavy author is drawn again and again: a few rounds, then make do with fewer.
            for _ in range(10):
                if len(chosen) >= wanted:
                    break
                draws = rng.choices(population, cum_weights=weights, k=wanted - len(chosen))
                chosen.update(dict.fromkeys(other for other in draws if other != index))
            for other in chosen:
                since = max(signups[index], signups[other])
                at = since + int(rng.random() * (self.now - since))
                rows.append((users[index], users[other], from_micros(at)))
        return rows


async def _pipelined(
    starts: range,
    make: Callable[[int], Awaitable[Callable[[], Batch]]],
    copy: Callable[[Batch], Awaitable[None]],
) -> None:
    """Copy batch after batch, making the next one in a thread while the server takes this one.

    `make(start)` does what needs the connection (ids from a sequence) and returns the work
    left, which runs in the thread."""
    pending: asyncio.Future[Batch] | None = None
    for index, start in enumerate(starts):
        batch = await pending if pending is not None else (await make(start))()
        pending = None
        if index + 1 < len(starts):
            work = await make(starts[index + 1])
            pending = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            await copy(batch)
        except BaseException:
            if pending is not None:
                await asyncio.wait([pending])
            raise


async def _can_skip_triggers(conn: asyncpg.Connection) -> bool:
    """Whether this session may set session_replication_role (a superuser's may)."""
    return bool(await conn.fetchval(_SUPERUSER))


async def _next_ids(conn: asyncpg.Connection, table: str, count: int) -> list[int]:
    """Ids from the table's own sequence, so they never collide with other writers and the
    identity stays in step."""
    return [row[0] for row in await conn.fetch(_NEXT_IDS, table, count)]


async def _tag_ids(conn: asyncpg.Connection) -> list[int]:
    """The ids of TAG_NAMES, in order, adding those that are missing."""
    await conn.execute(_ADD_TAGS, TAG_NAMES)
    ids = {row["name"]: row["id"] for row in await conn.fetch(_TAG_IDS, TAG_NAMES)}
    return [ids[name] for name in TAG_NAMES]


async def seed(url: str, plan: Plan, *, search_config: str | None = None) -> Seeded:
    """Migrate, then add `plan.users` users and `plan.blogs` blogs, and with extras their tags,
    favorites, follows and comments, in one transaction."""
    started = time.monotonic()
    await migrations.migrate(url, search_config=search_config)
    password_hash = await PasswordHasher(concurrency=1, wait_seconds=60).hash(SEED_PASSWORD)
    now = datetime.now(UTC)
    batch = plan.batch_size
    counts = {"blog_tags": 0, "favorites": 0, "follows": 0, "comments": 0}
    conn = await connect_to_primary(url, server_settings=session_settings(search_config))
    try:
        quiet = plan.extras and await _can_skip_triggers(conn)
        if plan.extras and not quiet and plan.blogs > 10_000:
            print(
                "not a superuser: the triggers count every tag link and favorite, one UPDATE "
                "each on the same few rows in one transaction, which slows down more and more "
                "past some 10,000 blogs (--no-extras seeds users and blogs only)",
                file=sys.stderr,
            )
        generator = Generator(plan, now=now, favorites_counted=quiet)
        blog_columns = (*BLOG_COLUMNS, "favorites_count") if quiet else BLOG_COLUMNS

        async def copy(table: str, rows: list[Row], columns: Sequence[str]) -> None:
            if rows:
                await conn.copy_records_to_table(table, records=rows, columns=columns)
                counts[table] += len(rows)

        async def copy_links(tables: Sequence[tuple[str, list[Row], Sequence[str]]]) -> None:
            """Rows that point at users and blogs: with no triggers (the counters', the foreign
            keys') when the seed may turn them off."""
            if quiet:
                await conn.execute("SET LOCAL session_replication_role = replica")
            for table, rows, columns in tables:
                await copy(table, rows, columns)
            if quiet:
                await conn.execute("SET LOCAL session_replication_role = origin")

        async with conn.transaction():
            if plan.truncate:
                await conn.execute(f"TRUNCATE {', '.join(_TABLES)} RESTART IDENTITY CASCADE")
                # The count of all blogs references nothing, so the cascade leaves it.
                await conn.execute("UPDATE blog_count_slots SET blog_count = 0")
                # Ids start again at 1: tokens made for the old users must not fit the new ones.
                await conn.execute("UPDATE deployment SET id = gen_random_uuid()")

            progress = Progress("users", plan.users)
            for start in range(0, plan.users, batch):
                ids = await _next_ids(conn, "users", min(batch, plan.users - start))
                rows = generator.users(ids, password_hash)
                await conn.copy_records_to_table("users", records=rows, columns=USER_COLUMNS)
                progress.add(len(rows))

            if plan.extras and plan.blogs:
                generator.tag_ids = await _tag_ids(conn)
            progress = Progress("blogs", plan.blogs)

            async def make_blogs(start: int) -> Callable[[], Blogs]:
                ids = await _next_ids(conn, "blogs", min(batch, plan.blogs - start))
                return lambda: generator.blogs(start, ids)

            async def copy_blogs(made: Blogs) -> None:
                await conn.copy_records_to_table("blogs", records=made.blogs, columns=blog_columns)
                await copy_links(
                    [
                        ("blog_tags", made.blog_tags, BLOG_TAG_COLUMNS),
                        ("favorites", made.favorites, FAVORITE_COLUMNS),
                        ("comments", made.comments, COMMENT_COLUMNS),
                    ]
                )
                progress.add(len(made.blogs))

            await _pipelined(range(0, plan.blogs, batch), make_blogs, copy_blogs)

            if plan.extras and plan.users > 1:
                progress = Progress("follows, by user", plan.users)

                async def make_follows(start: int) -> Callable[[], tuple[int, list[Row]]]:
                    count = min(batch, plan.users - start)
                    return lambda: (count, generator.follows(start, count))

                async def copy_follows(made: tuple[int, list[Row]]) -> None:
                    await copy_links([("follows", made[1], FOLLOW_COLUMNS)])
                    progress.add(made[0])

                await _pipelined(range(0, plan.users, batch), make_follows, copy_follows)

            if quiet and plan.blogs:
                await conn.execute(_COUNT_TAGS, generator.tag_ids, generator.tag_links)
                favorited = generator.user_favorites
                await conn.execute(_COUNT_USER_FAVORITES, list(favorited), list(favorited.values()))
        # VACUUM cannot run inside a transaction block.
        for table in _TABLES if plan.extras else _TABLES[:2]:
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return Seeded(users=plan.users, blogs=plan.blogs, seconds=time.monotonic() - started, **counts)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return value


def _seed_command(args: argparse.Namespace, settings: Settings) -> int:

    if args.blogs and not args.users:
        print("error: blogs need authors: pass --users 1 or more", file=sys.stderr)
        return 2
    plan = Plan(
        users=args.users,
        blogs=args.blogs,
        seed=args.seed,
        batch_size=args.batch_size,
        truncate=args.truncate,
        extras=args.extras,
    )
    done = asyncio.run(seed(direct_url(settings), plan, search_config=settings.search_config))
    rate = done.rows / max(done.seconds, 1e-9)
    extras = ""
    if plan.extras:
        extras = (
            f", {done.blog_tags:,} tags on them, {done.favorites:,} favorites, "
            f"{done.follows:,} follows and {done.comments:,} comments"
        )
    print(
        f"seeded {done.users:,} users and {done.blogs:,} blogs{extras} in {done.seconds:.1f}s "
        f"({rate:,.0f} rows/s); every seeded user's password is {SEED_PASSWORD!r}"
    )
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    command = commands.add_parser(
        "seed",
        help="add fake users, blogs, tags, favorites, follows and comments, fast (password of "
        "every seeded user: seeded-password)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--users", type=_count, default=1_000, help="users to add (1000)")
    command.add_argument("--blogs", type=_count, default=20_000, help="blogs to add (20000)")
    command.add_argument(
        "--no-extras",
        dest="extras",
        action="store_false",
        help="users and blogs only: no tags, favorites, follows or comments",
    )
    command.add_argument(
        "--truncate",
        action="store_true",
        help="empty users, blogs and what hangs on them (tags too) first, restarting ids at 1",
    )
    command.add_argument("--seed", type=int, help="random seed, for the same data every time")
    command.add_argument(
        "--batch-size", type=_batch_size, default=10_000, help="rows per COPY (10000)"
    )
    command.set_defaults(handler=_seed_command)
