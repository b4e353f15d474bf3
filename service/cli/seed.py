"""`python -m service seed`: fill the database with realistic fake users and blogs, fast.

Rows go in through COPY (asyncpg's `copy_records_to_table`) in batches, the next batch being
generated in a thread while the server ingests the current one, so memory stays flat at any size.

Every seeded user's password is `seeded-password` (SEED_PASSWORD): one Argon2 hash, computed
once, is shared by all of them. Emails are `first.last.<id>@example.com`, lower-case.

Authors are skewed: each user's share of the blogs is log-normal, so a few write thousands and
most write a handful or none. Blogs span the last two years in id order; a quarter of them were
edited later. Users signed up during the year before that, so no blog predates its author.
"""

import argparse
import asyncio
import itertools
import random
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from service.cli.database_url import direct_url
from service.db import migrations
from service.db.search import session_settings
from service.db.urls import asyncpg_dsn
from service.passwords import PasswordHasher
from service.settings import Settings
from service.timestamps import from_micros, to_micros

SEED_PASSWORD = "seeded-password"  # noqa: S105 - documented, shared by every seeded user
BLOG_SPAN = timedelta(days=730)
SIGNUP_SPAN = timedelta(days=365)
EDITED_SHARE = 0.25
# sigma of the log-normal author weights: the top 10% of authors write about 60% of the blogs.
AUTHOR_SIGMA = 1.5

USER_COLUMNS = ("id", "name", "email", "password_hash", "created_at")
BLOG_COLUMNS = ("user_id", "title", "body", "created_at", "updated_at")

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


@dataclass(frozen=True)
class Plan:
    users: int
    blogs: int
    seed: int | None = None
    batch_size: int = 10_000
    truncate: bool = False


@dataclass(frozen=True)
class Seeded:
    users: int
    blogs: int
    seconds: float


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
    """Titles and ~500-character bodies cut from a pre-generated corpus of sentences."""

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
        start = self.starts[int(self.rng.random() * len(self.starts))]
        text = self.corpus[start : start + self.rng.randint(400, 700)]
        end = text.rfind(".")
        return text[: end + 1] if end > 200 else text.rstrip()


class Generator:
    """Deterministic rows for a plan, a batch at a time."""

    def __init__(self, plan: Plan, now: datetime) -> None:
        self.rng = random.Random(plan.seed)  # noqa: S311 - fake data, not secrets
        self.text = Text(self.rng)
        self.plan = plan
        self.blogs_from = to_micros(now - BLOG_SPAN)
        self.blogs_span = to_micros(now) - self.blogs_from
        self.signup_from = self.blogs_from - SIGNUP_SPAN // timedelta(microseconds=1)
        self.user_ids = array("q")
        self._cumulative: list[float] = []

    def users(self, ids: Sequence[int], password_hash: str) -> list[tuple[Any, ...]]:
        rng = self.rng
        span = self.blogs_from - self.signup_from
        rows = []
        for user_id in ids:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{user_id}@example.com".lower()
            signed_up = from_micros(self.signup_from + int(rng.random() * span))
            rows.append((user_id, f"{first} {last}", email, password_hash, signed_up))
        self.user_ids.extend(ids)
        return rows

    def _authors(self, count: int) -> list[int]:
        if not self._cumulative:
            weights = (self.rng.lognormvariate(0.0, AUTHOR_SIGMA) for _ in self.user_ids)
            self._cumulative = list(itertools.accumulate(weights))
        return self.rng.choices(self.user_ids, cum_weights=self._cumulative, k=count)

    def blogs(self, first: int, count: int) -> list[tuple[Any, ...]]:
        """Blogs number `first` to `first + count - 1` of the plan, oldest first."""
        rng, text, total = self.rng, self.text, self.plan.blogs
        end = self.blogs_from + self.blogs_span
        rows = []
        for number, author in enumerate(self._authors(count), start=first):
            created = self.blogs_from + int((number + rng.random()) * self.blogs_span / total)
            updated = created
            if rng.random() < EDITED_SHARE:
                updated = min(end, created + int(rng.random() * 90 * 86_400_000_000))
            rows.append(
                (author, text.title(), text.body(), from_micros(created), from_micros(updated))
            )
        return rows


async def _pipelined(
    make: Callable[[int], list[tuple[Any, ...]]],
    starts: range,
    copy: Callable[[list[tuple[Any, ...]]], Any],
) -> None:
    """Copy batch after batch, making the next one in a thread while the server takes this one."""
    pending: asyncio.Future[list[tuple[Any, ...]]] | None = None
    for index, start in enumerate(starts):
        rows = await pending if pending is not None else make(start)
        pending = None
        if index + 1 < len(starts):
            pending = asyncio.ensure_future(asyncio.to_thread(make, starts[index + 1]))
        try:
            await copy(rows)
        except BaseException:
            if pending is not None:
                await asyncio.wait([pending])
            raise


async def seed(url: str, plan: Plan, *, search_config: str | None = None) -> Seeded:
    """Migrate, then add `plan.users` users and `plan.blogs` blogs in one transaction."""
    started = time.monotonic()
    await migrations.migrate(url, search_config=search_config)
    password_hash = await PasswordHasher(concurrency=1, wait_seconds=60).hash(SEED_PASSWORD)
    generator = Generator(plan, now=datetime.now(UTC))
    batch = plan.batch_size
    conn = await asyncpg.connect(asyncpg_dsn(url), server_settings=session_settings(search_config))
    try:
        async with conn.transaction():
            if plan.truncate:
                await conn.execute("TRUNCATE users, blogs RESTART IDENTITY CASCADE")
                # Ids start again at 1: tokens made for the old users must not fit the new ones.
                await conn.execute("UPDATE deployment SET id = gen_random_uuid()")

            progress = Progress("users", plan.users)

            async def make_users(start: int) -> list[tuple[Any, ...]]:
                # Ids come from the table's own sequence, so they never collide with other
                # writers and the identity stays in step.
                ids = await conn.fetch(
                    "SELECT nextval(pg_get_serial_sequence('users', 'id')) "
                    "FROM generate_series(1, $1)",
                    min(batch, plan.users - start),
                )
                return generator.users([row[0] for row in ids], password_hash)

            for start in range(0, plan.users, batch):
                rows = await make_users(start)
                await conn.copy_records_to_table("users", records=rows, columns=USER_COLUMNS)
                progress.add(len(rows))

            progress = Progress("blogs", plan.blogs)

            async def copy_blogs(rows: list[tuple[Any, ...]]) -> None:
                await conn.copy_records_to_table("blogs", records=rows, columns=BLOG_COLUMNS)
                progress.add(len(rows))

            await _pipelined(
                lambda start: generator.blogs(start, min(batch, plan.blogs - start)),
                range(0, plan.blogs, batch),
                copy_blogs,
            )
        # VACUUM cannot run inside a transaction block.
        await conn.execute("VACUUM ANALYZE users")
        await conn.execute("VACUUM ANALYZE blogs")
    finally:
        await conn.close()
    return Seeded(users=plan.users, blogs=plan.blogs, seconds=time.monotonic() - started)


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
    )
    done = asyncio.run(seed(direct_url(settings), plan, search_config=settings.search_config))
    rate = (done.users + done.blogs) / max(done.seconds, 1e-9)
    print(
        f"seeded {done.users:,} users and {done.blogs:,} blogs in {done.seconds:.1f}s "
        f"({rate:,.0f} rows/s); every seeded user's password is {SEED_PASSWORD!r}"
    )
    return 0


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    command = commands.add_parser(
        "seed",
        help="add fake users and blogs, fast (password of every seeded user: seeded-password)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument("--users", type=_count, default=1_000, help="users to add (1000)")
    command.add_argument("--blogs", type=_count, default=20_000, help="blogs to add (20000)")
    command.add_argument(
        "--truncate", action="store_true", help="empty users and blogs first, restarting ids at 1"
    )
    command.add_argument("--seed", type=int, help="random seed, for the same data every time")
    command.add_argument(
        "--batch-size", type=_batch_size, default=10_000, help="rows per COPY (10000)"
    )
    command.set_defaults(handler=_seed_command)
