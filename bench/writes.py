"""The write and authenticated endpoints: tokens, scratch rows, and checks of every variant's
answers before any timing.

W1 POST /blogs, W2 PATCH /blogs/{id} with If-Match, W3 GET /users/me, W4 DELETE /blogs/{id}
(each blog with two tags and two favorites, so its cascade and counters are part of the cost),
each with a bearer token made the service's way (service.tokens) for one of `WRITERS` seeded
users: the authors with the most blogs, so the blogs written here never reach the first page of
any listing that E1-E4 read. Whatever a run writes has an id above data.BLOGS and is deleted
(then every table writes touch is vacuumed) before the next write run, so each variant starts
from the same tables and the seeded data set stays as data.seeded() expects it. A variant may
serve a database of its own (`+DATABASE_URL=`, a copy of the run's at an older migration): the
rows a write needs are made in each server's database, with the same ids.
"""

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import data
from bench.load import Target, request
from bench.servers import Server, own_database, parse, without_times
from service.api.etags import blog_etag
from service.tokens import TokenCodec

WRITE_ENDPOINTS = ("W1", "W2", "W3", "W4")
# W4 only when asked for: only ours serves DELETE /blogs/{id}.
DEFAULT_WRITE_ENDPOINTS = ("W1", "W2", "W3")
WRITERS = 8
# Blogs PATCH takes turns on: more than wrk's connections, so no two requests in flight edit one.
PATCH_BLOGS = 128
# Older than every seeded blog: last on every listing.
SCRATCH_CREATED_AT = "2000-01-01T00:00:00Z"
# Blogs W4 deletes, one per request: more than a run (warm-up and timed) gets through.
DOOMED_BLOGS = 20_000
# Ids of the blogs made for a check or for W4, the same in every server's database.
SCRATCH_FIRST_ID = 1_000_000_000
SCRATCH_BATCH = 1_000


@dataclass(frozen=True)
class Writers:
    user_ids: tuple[int, ...]
    tokens: tuple[str, ...]


async def sign(conn: asyncpg.Connection, secret: str, user_ids: list[int]) -> tuple[str, ...]:
    """Tokens for these users, made the service's way, in their order."""
    audience = await conn.fetchval("SELECT id::text FROM deployment")
    rows = await conn.fetch(
        "SELECT id, token_version FROM users WHERE id = ANY($1::bigint[])", user_ids
    )
    versions: dict[int, int] = {row["id"]: row["token_version"] for row in rows}
    # Long-lived, so no run outlives them; the service checks only that they have not expired.
    codec = TokenCodec(
        secret=secret, issuer="blog-api", audience=audience, expires_in=timedelta(days=2)
    )
    return tuple(codec.encode(user_id=i, version=versions[i]) for i in user_ids)


async def writers(url: str, secret: str) -> Writers:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT user_id FROM blogs GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT $1",
            WRITERS,
        )
        user_ids = [row["user_id"] for row in rows]
        return Writers(user_ids=tuple(user_ids), tokens=await sign(conn, secret, user_ids))
    finally:
        await conn.close()


WRITTEN_TABLES = (
    "blogs",
    "tags",
    "blog_tags",
    "favorites",
    "comments",
    "users",
    "rate_limits",
    "blog_count_slots",
    "user_blog_counts",
    "user_favorite_counts",
    "tag_blog_counts",
    "read_cache_changes",
)


async def _reset(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        # In batches, for the reason _scratch gives.
        deleted, batch = 0, SCRATCH_BATCH
        while batch == SCRATCH_BATCH:
            status = await conn.execute(
                "DELETE FROM blogs WHERE id IN"
                " (SELECT id FROM blogs WHERE id > $1 ORDER BY id LIMIT $2)",
                data.BLOGS,
                SCRATCH_BATCH,
            )
            batch = int(status.split()[-1])
            deleted += batch
        # The tags only the benchmark's blogs carried (every seeded tag is on seeded blogs).
        await conn.execute(
            "DELETE FROM tags AS t WHERE NOT EXISTS (SELECT FROM blog_tags WHERE tag_id = t.id)"
        )
        # Every table a write run touches, in whichever of them this database's commit has:
        # a server with autovacuum off (CI's is) would otherwise start each run from the dead
        # rows of the last (a counter row updated a thousand times a second).
        present = await conn.fetch(
            "SELECT c.relname FROM pg_class AS c"
            " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
            " AND c.relname = ANY ($1::text[])",
            list(WRITTEN_TABLES),
        )
        await conn.execute(f"VACUUM {', '.join(row['relname'] for row in present)}")
    finally:
        await conn.close()
    return deleted


def reset(url: str) -> int:
    """Delete every blog written by the benchmark (ids above data.BLOGS), and its new tags."""
    return asyncio.run(_reset(url))


async def _scratch(
    url: str, owners: tuple[int, ...], count: int, *, tagged: bool = False
) -> list[tuple[int, int]]:
    """`count` blogs spread over `owners`, with ids from SCRATCH_FIRST_ID: (blog id, the owner's
    position in owners, from 1). `tagged`: each with the two most used tags, and a favorite of
    each of the first two owners."""
    conn = await asyncpg.connect(url)
    try:
        # What an earlier check made with these ids (a run's are gone with its reset).
        await conn.execute(
            "DELETE FROM blogs WHERE id >= $1 AND id < $1 + $2", SCRATCH_FIRST_ID, count
        )
        rows = await conn.fetch(
            "INSERT INTO blogs (id, user_id, title, body, created_at, updated_at)"
            " SELECT $4 + i, ($1::bigint[])[1 + i % cardinality($1::bigint[])], 'Scratch ' || i,"
            " 'Edited by the benchmark, deleted after the run.', $2::timestamptz, $2::timestamptz"
            " FROM generate_series(0, $3 - 1) AS i RETURNING id, user_id",
            list(owners),
            datetime.fromisoformat(SCRATCH_CREATED_AT),
            count,
            SCRATCH_FIRST_ID,
        )
        # A thousand blogs a transaction: counter triggers that update a tag's row once per link
        # (before 0016) would take minutes for one transaction of 30,000 links to one tag.
        for start in range(0, count if tagged else 0, SCRATCH_BATCH):
            first, last = SCRATCH_FIRST_ID + start, SCRATCH_FIRST_ID + start + SCRATCH_BATCH
            await conn.execute(
                "INSERT INTO blog_tags (blog_id, tag_id, blog_created_at)"
                " SELECT b.id, t.id, b.created_at FROM blogs AS b,"
                " (SELECT id FROM tags ORDER BY blog_count DESC, name LIMIT 2) AS t"
                " WHERE b.id >= $1 AND b.id < $2",
                first,
                last,
            )
            await conn.execute(
                "INSERT INTO favorites (user_id, blog_id, blog_created_at)"
                " SELECT u, b.id, b.created_at FROM blogs AS b, unnest($3::bigint[]) AS u"
                " WHERE b.id >= $1 AND b.id < $2",
                first,
                last,
                list(owners[:2]),
            )
    finally:
        await conn.close()
    return [(row["id"], owners.index(row["user_id"]) + 1) for row in rows]


def scratch(
    databases: list[str], owners: tuple[int, ...], count: int, *, tagged: bool = False
) -> list[tuple[int, int]]:
    """The same scratch blogs in each of `databases`."""
    made = [asyncio.run(_scratch(url, owners, count, tagged=tagged)) for url in databases]
    return made[0]


def plan(endpoint: str, url: str, who: Writers) -> list[Target]:
    """Reset the table of the database `url` (the server's) and give wrk what `endpoint` needs."""
    reset(url)
    tokens = ("BENCH_TOKENS", ";".join(who.tokens))
    if endpoint == "W1":
        return [Target("/blogs", write="post", env=(tokens,))]
    if endpoint == "W2":
        blogs = scratch([url], who.user_ids, PATCH_BLOGS)
        listed = ";".join(f"{blog_id}|{owner}" for blog_id, owner in blogs)
        return [Target("/blogs/{id}", write="patch", env=(tokens, ("BENCH_BLOGS", listed)))]
    if endpoint == "W4":
        # Blog SCRATCH_FIRST_ID + i belongs to the user of token i % WRITERS + 1 (_scratch).
        scratch([url], who.user_ids, DOOMED_BLOGS, tagged=True)
        # Where the warm-up stopped, for the timed run to go on from.
        state = Path(tempfile.gettempdir()) / f"bench-w4-{os.getpid()}.state"
        state.unlink(missing_ok=True)
        doomed = (
            ("BENCH_FIRST_ID", str(SCRATCH_FIRST_ID)),
            ("BENCH_COUNT", str(DOOMED_BLOGS)),
            ("BENCH_STATE", str(state)),
        )
        return [Target("/blogs/{id}", write="delete", env=(tokens, *doomed))]
    return [Target("/users/me", write="me", env=(tokens,))]


async def _signed_in_reads(url: str, who: Writers) -> list[tuple[int, str]]:
    """Reads whose answers depend on the reader (one of `who`, by position): the first page, a
    blog they favorited, and the newest blog of an author they follow."""
    conn = await asyncpg.connect(url)
    try:
        favorite = await conn.fetchrow(
            "SELECT user_id, blog_id FROM favorites WHERE user_id = ANY ($1::bigint[])"
            " ORDER BY blog_id LIMIT 1",
            who.user_ids,
        )
        followed = await conn.fetchrow(
            "SELECT f.follower_id, b.id FROM follows AS f CROSS JOIN LATERAL ("
            "SELECT id FROM blogs WHERE user_id = f.followed_id"
            " ORDER BY created_at DESC, id DESC LIMIT 1) AS b"
            " WHERE f.follower_id = ANY ($1::bigint[]) ORDER BY f.follower_id, f.followed_id"
            " LIMIT 1",
            who.user_ids,
        )
    finally:
        await conn.close()
    reads = [(0, "/blogs?limit=20")]
    for row in (favorite, followed):
        if row is not None:
            reads.append((who.user_ids.index(row[0]), f"/blogs/{row[1]}"))
    return reads


# Checks: every variant answers like the reference, before any timing.


def _etag(body: bytes) -> str:
    """The service's ETag for a blog's body: its version and a hash of these bytes."""
    return blog_etag(datetime.fromisoformat(json.loads(body)["updated_at"]), body)


def _without(body: bytes, *keys: str) -> list[tuple[str, Any]]:
    """The JSON object's fields in order, less `keys` (those that differ by write)."""
    return [(k, v) for k, v in json.loads(body).items() if k not in keys]


def _timeless(shape: Any) -> Any:
    """A body (bytes, or _without's fields) less its timestamps."""
    if isinstance(shape, bytes):
        return without_times(json.loads(shape)) if shape else shape
    return [(k, without_times(v)) for k, v in shape if not k.endswith("_at")]


class _Checker:
    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers
        self.count = 0

    def same(
        self,
        what: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        *,
        status: int,
        volatile: tuple[str, ...] | None = None,
        etag: bool = False,
        chain: bool = False,
    ) -> list[dict[str, Any]]:
        """Send one request to every server: `status` from each and the same body, byte for byte,
        or field for field less the `volatile` ones; with `etag`, the service's ETag for it; with
        `chain`, each server's If-Match is the ETag the one before it answered."""
        answers = []
        expected: Any = None
        for server in self.servers:
            got_status, got_headers, got_body = request(server.port, method, path, headers, body)
            if chain:
                headers = headers | {"If-Match": got_headers.get("etag", "")}
            self.count += 1
            if got_status != status:
                raise SystemExit(
                    f"{server.variant}: {what}: {method} {path} answered {got_status}, "
                    f"not {status}: {got_body[:300]!r}"
                )
            if status >= 400 and expected is not None and parse(server.variant).rev:
                # Ours at another commit: the same refusal, maybe in other words.
                shape: Any = expected
            else:
                shape = got_body if volatile is None else _without(got_body, *volatile)
                if any(own_database(s.variant) for s in self.servers):
                    shape = _timeless(shape)
            if expected is None:
                expected = shape
            elif shape != expected:
                raise SystemExit(
                    f"{server.variant} differs from {self.servers[0].variant} on {what} "
                    f"({method} {path}):\n  {server.variant}: {shape!r}\n"
                    f"  {self.servers[0].variant}: {expected!r}"
                )
            if etag:
                if got_headers.get("etag") != _etag(got_body):
                    raise SystemExit(
                        f"{server.variant}: {what}: ETag {got_headers.get('etag')!r}, "
                        f"not {_etag(got_body)!r}"
                    )
                answers.append({"etag": got_headers["etag"], **json.loads(got_body)})
        return answers


def check(servers: list[Server], url: str, who: Writers, *, deletes: bool = False) -> int:
    """W1-W3 (and W4 with `deletes`) and their refusals, on every variant; returns the number
    of requests made."""
    databases = sorted({url, *(server.database for server in servers)})
    for database in databases:
        reset(database)
    check = _Checker(servers)
    owner, other = (
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for token in who.tokens[:2]
    )
    check.same("the token's user", "GET", "/users/me", owner, status=200)
    check.same("no token", "GET", "/users/me", {}, status=401)
    bad = {"Authorization": "Bearer not.a.token"}
    check.same("a bad token", "GET", "/users/me", bad, status=401)
    post = json.dumps({"title": "  A checked post ", "body": "Checked."}).encode()
    # The slug ends with the id.
    check.same(
        "a new blog", "POST", "/blogs", owner, post, status=201,
        volatile=("id", "slug", "created_at", "updated_at"), etag=True,
    )  # fmt: skip
    tagged = json.dumps(
        {"title": "Tagged", "body": "Tags.", "description": " A test. ", "tags": ["b", "a ", "b"]}
    ).encode()
    check.same(
        "a new blog with tags", "POST", "/blogs", owner, tagged, status=201,
        volatile=("id", "slug", "created_at", "updated_at"), etag=True,
    )  # fmt: skip
    check.same("no token", "POST", "/blogs", {}, post, status=401)
    for invalid in ({"title": "No body"}, {"title": " ", "body": "x"}, {"title": "x", "body": ""}):
        # 422 everywhere; the bodies are each stack's own validation report.
        check.same(f"{invalid}", "POST", "/blogs", owner, json.dumps(invalid).encode(),
                   status=422, volatile=("detail",))  # fmt: skip
    # Edits chain each server's If-Match to the ETag the one before it answered, and reads show
    # what was written: compared among the servers that share a database.
    for database in databases:
        sharing = [server for server in servers if server.database == database]
        if not sharing:
            continue
        edits = _Checker(sharing)
        [(blog_id, _)] = scratch([database], who.user_ids[:1], 1)
        path = f"/blogs/{blog_id}"
        edit = json.dumps({"title": "Checked edit"}).encode()
        star = owner | {"If-Match": "*"}
        first = edits.same(
            "an edit, If-Match: *", "PATCH", path, star, edit, status=200,
            volatile=("updated_at",), etag=True,
        )  # fmt: skip
        # Each variant edited the same blog in turn: the last one's ETag is the current version, and
        # each edit now names the version the one before it left.
        current = owner | {"If-Match": first[-1]["etag"]}
        latest = edits.same(
            "an edit, If-Match: the current ETag", "PATCH", path, current, edit, status=200,
            volatile=("updated_at",), etag=True, chain=True,
        )  # fmt: skip
        stale = owner | {"If-Match": first[0]["etag"]}
        if latest[-1]["etag"] == first[0]["etag"]:
            raise SystemExit("an edit did not move updated_at")
        edits.same("an edit, If-Match: a stale ETag", "PATCH", path, stale, edit, status=412)
        edits.same("an edit by another user", "PATCH", path, other, edit, status=403)
        edits.same("an edit of no blog", "PATCH", f"/blogs/{2**62}", owner, edit, status=404)
        edits.same("an empty edit", "PATCH", path, owner, b"{}", status=422, volatile=("detail",))
        retag = json.dumps({"tags": ["c", "a"], "description": "Retagged."}).encode()
        for tags in (retag, json.dumps({"tags": []}).encode()):
            edits.same(
                "an edit of the tags", "PATCH", path, owner, tags, status=200,
                volatile=("updated_at",), etag=True,
            )  # fmt: skip
        # The first page holds the blogs written above, which differ by database.
        for reader, path in asyncio.run(_signed_in_reads(database, who)):
            signed_in = {"Authorization": f"Bearer {who.tokens[reader]}"}
            edits.same("a read by a signed-in user", "GET", path, signed_in, status=200)
        check.count += edits.count
    check.same("a read with a bad token", "GET", "/blogs/1", bad, status=401)
    # Each server deletes a blog of its own database (servers may share one).
    for server in servers if deletes else []:
        alone = _Checker([server])
        [(blog_id, _)] = scratch([server.database], who.user_ids[:1], 1, tagged=True)
        path = f"/blogs/{blog_id}"
        alone.same("a deletion by another user", "DELETE", path, other, status=403)
        alone.same("a deletion", "DELETE", path, owner, status=204)
        alone.same("a deletion of a deleted blog", "DELETE", path, owner, status=404)
        check.count += alone.count
    for database in databases:
        reset(database)
    return check.count
