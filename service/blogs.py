"""Data functions for blogs."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from service.db import queries
from service.db.database import Connection, Row
from service.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    InvalidCursor,
    InvalidValue,
    NotFound,
    PreconditionFailed,
)
from service.models import MAX_ID, Blog, BlogCreate, BlogUpdate, TagCount, User
from service.pages import split_page
from service.profiles import OWNER, profile_fields, reader_current, reader_params
from service.timestamps import from_micros, to_micros
from service.tokens import TokenClaims
from service.users import user_exists

_TOKEN_INVALID = "the token is invalid or has expired"  # noqa: S105 - a message

BlogKey = tuple[int, int]
"""Where a page of blogs continues: (created_at in microseconds since the epoch, id)."""


# How many of the newest blogs a search walks before it turns to the full-text index
# (sql/queries/blogs_search.sql): enough for a word in 1% of blogs to fill a page of 21.
SEARCH_WINDOW = 5_000
# The most blogs the statistics may say hold the words for the search to fetch every match
# through the full-text index (about a heap recheck each: tens of milliseconds at most); past
# it, a page ends at the window and the cursor walks on from there.
SEARCH_INDEX_MAX_ROWS = 20_000


@dataclass(frozen=True)
class Search:
    query: str
    """Web-search syntax: words, "quoted phrases", `or`, `-word`."""
    config: str
    """The PostgreSQL text search configuration (SEARCH_CONFIG)."""


# Sorts before every real key, so the first page uses the same index condition as the rest.
_FIRST = (datetime.max.replace(tzinfo=UTC), MAX_ID)


def _before(after: BlogKey | None) -> tuple[datetime, int]:
    if after is None:
        return _FIRST
    try:
        return from_micros(after[0]), after[1]
    except OverflowError:
        raise InvalidCursor("the cursor is not valid") from None


def _blog_fields(row: Row) -> dict[str, Any]:
    """A blog's fields from a row of the named blog queries, which alias the owner's columns."""
    return {
        "id": row["id"],
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "body": row["body"],
        "tags": row["tags"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "favorites_count": row["favorites_count"],
        "favorited": row["favorited"],
        "owner": profile_fields(row, OWNER),
    }


def _blog(row: Row) -> Blog:
    return Blog.model_validate(_blog_fields(row))


ItemT = TypeVar("ItemT", bound=BaseModel)

# A page of blogs validated in one call: half the time of a model per row (E2's 20 blogs).
_BLOG_LIST = TypeAdapter(list[Blog])


def _validated(rows: Iterable[Row], items: TypeAdapter[list[ItemT]]) -> list[ItemT]:
    """Rows of the named blog queries as one list validated by `items` (of `Blog`, or of another
    shape made from a blog's fields)."""
    return items.validate_python([_blog_fields(row) for row in rows])


def _blogs(rows: Iterable[Row]) -> list[Blog]:
    return _validated(rows, _BLOG_LIST)


def _page(rows: list[Row], limit: int) -> tuple[list[Blog], BlogKey | None]:
    page, last = split_page(rows, limit)
    items = _blogs(page)
    return items, None if last is None else (to_micros(last["created_at"]), last["id"])


def _search_page(rows: list[Row], limit: int) -> tuple[list[Blog], BlogKey | None]:
    """Like `_page`, but a search page that ended at its window ends with a `resume` row: the
    window's last blog, where the next page walks on from (the page may be short, or empty)."""
    resume = next((row for row in rows if row["resume"]), None)
    if resume is None:
        return _page(rows, limit)
    items = _blogs(row for row in rows if not row["resume"])
    return items, (to_micros(resume["created_at"]), resume["id"])


def _in_lock_order(tags: list[str]) -> list[str]:
    """Tags in the one order every writer creates (and so locks) them in: two writers given the
    same tags in opposite orders would otherwise each hold one and wait for the other (a
    deadlock, one write cancelled). The order sent means nothing: tags are shown sorted."""
    return sorted(tags)


async def create_blog(*, db: Connection, owner: User, data: BlogCreate) -> Blog:
    row = await db.fetch_row(
        queries.BLOG_CREATE,
        user_id=owner.id,
        title=data.title,
        body=data.body,
        description=data.description,
        tags=_in_lock_order(data.tags),
    )
    if row is None:
        # The owner deleted their account while this request was on its way: so is the token.
        raise AuthenticationFailed(_TOKEN_INVALID)
    return _blog(row)


async def get_blog(*, db: Connection, blog_id: int, reader: TokenClaims | None = None) -> Blog:
    row = await db.fetch_row(queries.BLOG_DETAIL, id=blog_id, **reader_params(reader))
    if row is None:
        raise NotFound("blog not found")
    return _blog(row)


async def get_blog_by_slug(*, db: Connection, slug: str, reader: TokenClaims | None = None) -> Blog:
    row = await db.fetch_row(queries.BLOG_BY_SLUG, slug=slug, **reader_params(reader))
    if row is None:
        raise NotFound("blog not found")
    return _blog(row)


async def list_blogs(
    *,
    db: Connection,
    limit: int,
    after: BlogKey | None = None,
    author_id: int | None = None,
    tag: str | None = None,
    search: Search | None = None,
    reader: TokenClaims | None = None,
) -> tuple[list[Blog], BlogKey | None]:
    """A page of blogs, newest first, and the key to continue after, or None on the last page.

    By one author, carrying one tag, or matching a search (which may be by one author)."""
    before_created_at, before_id = _before(after)
    keyset = {"before_created_at": before_created_at, "before_id": before_id, "limit": limit + 1}
    keyset |= reader_params(reader)
    if tag is not None:
        if author_id is not None or search is not None:
            # No one index walks a tag's blogs by one author or matching words.
            raise InvalidValue("tag cannot be combined with author_id or q", field="tag")
        rows = await db.fetch_rows(queries.BLOGS_PAGE_BY_TAG, tag=tag, **keyset)
    elif search is not None:
        matching = {
            "config": search.config,
            "query": search.query,
            "window": SEARCH_WINDOW,
            "index_max": SEARCH_INDEX_MAX_ROWS,
        }
        if author_id is None:
            rows = await db.fetch_rows(queries.BLOGS_SEARCH, **matching, **keyset)
        else:
            rows = await db.fetch_rows(
                queries.BLOGS_SEARCH_BY_AUTHOR, author_id=author_id, **matching, **keyset
            )
        return _search_page(rows, limit)
    elif author_id is None:
        rows = await db.fetch_rows(queries.BLOGS_PAGE, **keyset)
    else:
        rows = await db.fetch_rows(queries.BLOGS_PAGE_BY_AUTHOR, author_id=author_id, **keyset)
    return _page(rows, limit)


async def feed(
    *, db: Connection, reader: TokenClaims, limit: int, after: BlogKey | None = None
) -> tuple[list[Blog], BlogKey | None]:
    """Blogs by the authors the reader follows, newest first."""
    before_created_at, before_id = _before(after)
    rows = await db.fetch_rows(
        queries.BLOGS_FEED,
        before_created_at=before_created_at,
        before_id=before_id,
        limit=limit + 1,
        **reader_params(reader),
    )
    # An empty feed is rare (no follows, or past the end): only then make sure the token is
    # still good, so a token from before a password change is refused rather than shown nothing.
    if not rows and not await reader_current(db=db, claims=reader):
        raise AuthenticationFailed(_TOKEN_INVALID)
    return _page(rows, limit)


async def list_user_blogs(
    *,
    db: Connection,
    user_id: int,
    limit: int,
    after: BlogKey | None = None,
    reader: TokenClaims | None = None,
) -> tuple[list[Blog], BlogKey | None]:
    """Like `list_blogs` for one author, but NotFound for an unknown user."""
    items, next_key = await list_blogs(
        db=db, limit=limit, after=after, author_id=user_id, reader=reader
    )
    # An empty page is rare (no blogs, or past the last one): only then ask whether the user exists.
    if not items and not await user_exists(db=db, user_id=user_id):
        raise NotFound("user not found")
    return items, next_key


async def update_blog(
    *,
    db: Connection,
    blog_id: int,
    user_id: int,
    data: BlogUpdate,
    versions: list[datetime] | None = None,
) -> Blog:
    """Apply an edit; with `versions`, only if the blog's updated_at is one of them."""
    fields = data.model_fields_set
    row = await db.fetch_row(
        queries.BLOG_UPDATE,
        id=blog_id,
        user_id=user_id,
        title=data.title if "title" in fields else None,
        body=data.body if "body" in fields else None,
        description=data.description if "description" in fields else None,
        tags=_in_lock_order(data.tags) if "tags" in fields else None,
        versions=versions,
    )
    if row is None:
        raise NotFound("blog not found")
    if row["id"] is None:
        if row["owner_id"] != user_id:
            raise Forbidden("only the owner may change this blog")
        if versions is not None:
            raise PreconditionFailed("the blog has changed since; fetch it again and retry")
        raise NotFound("blog not found")  # deleted while we were updating it
    return _blog(row)


async def delete_blog(*, db: Connection, blog_id: int, user_id: int) -> None:
    row = await db.fetch_row(queries.BLOG_DELETE, id=blog_id, user_id=user_id)
    if row is None:
        raise NotFound("blog not found")
    if not row["deleted"]:
        if row["owner_id"] != user_id:
            raise Forbidden("only the owner may delete this blog")
        raise NotFound("blog not found")


async def favorite(*, db: Connection, reader: TokenClaims, blog_id: int) -> Blog:
    """Make the blog one of the reader's favorites; Conflict when it already is. The statement
    checks the reader's token version itself: AuthenticationFailed for a stale token."""
    row = await db.fetch_row(queries.FAVORITE_ADD, blog_id=blog_id, **reader_params(reader))
    assert row is not None
    if not row["reader_found"]:
        raise AuthenticationFailed(_TOKEN_INVALID)
    if not row["found"]:
        raise NotFound("blog not found")
    if not row["added"]:
        raise Conflict("the blog is already a favorite")
    return await get_blog(db=db, blog_id=blog_id, reader=reader)


async def unfavorite(*, db: Connection, reader: TokenClaims, blog_id: int) -> Blog:
    """Take the blog off the reader's favorites; NotFound when it was not one. The statement
    checks the reader's token version itself: AuthenticationFailed for a stale token."""
    row = await db.fetch_row(queries.FAVORITE_REMOVE, blog_id=blog_id, **reader_params(reader))
    assert row is not None
    if not row["reader_found"]:
        raise AuthenticationFailed(_TOKEN_INVALID)
    if not row["found"]:
        raise NotFound("blog not found")
    if not row["removed"]:
        raise NotFound("the blog is not a favorite")
    return await get_blog(db=db, blog_id=blog_id, reader=reader)


async def top_tags(*, db: Connection, limit: int) -> list[TagCount]:
    rows = await db.fetch_rows(queries.TAGS_TOP, limit=limit)
    return [TagCount(name=row["name"], blogs=row["blog_count"]) for row in rows]


# Offset pages (the RealWorld API's lists). How many blogs match comes from the counters the
# database keeps (sql/migrations/0016_counters.sql) for all blogs or one filter, exact at any
# size; combined filters are counted by walking up to COUNT_CAP + 1 matches, so that count is
# exact up to the cap and the cap beyond it. An offset page walks `offset + limit` index
# entries, so MAX_OFFSET bounds what a page costs.
COUNT_CAP = 10_000
MAX_OFFSET = 10_000
# The feed reads up to that many of each followed author's newest blogs, so its bounds are lower.
FEED_COUNT_CAP = 1_000
FEED_MAX_OFFSET = 1_000


@dataclass(frozen=True)
class OffsetPage(Generic[ItemT]):
    items: list[ItemT]
    count: int
    """How many blogs match: exact, or (combined filters, the feed) exact up to a cap."""


def _offset_page(
    rows: list[Row], cap: int | None, items: TypeAdapter[list[ItemT]]
) -> OffsetPage[ItemT]:
    matched = rows[0]["matched"] if rows else 0
    page = sorted((row for row in rows if row["id"] is not None), key=lambda row: row["n"])
    return OffsetPage(
        items=_validated(page, items), count=matched if cap is None else min(matched, cap)
    )


async def list_blogs_by_offset(
    *,
    db: Connection,
    items: TypeAdapter[list[ItemT]],
    limit: int,
    offset: int = 0,
    author: str | None = None,
    tag: str | None = None,
    favorited: str | None = None,
    reader: TokenClaims | None = None,
) -> OffsetPage[ItemT]:
    """An offset page of blogs, newest first, with how many match: all of them, or those by an
    author, carrying a tag and/or favorited by a user (usernames in any letter case), in any
    combination. One statement, walking the index of the most selective filter given (the
    author's blogs, then the user's favorites, then the tag's blogs). The count is exact for
    none or one filter (a counter), and exact up to COUNT_CAP for combined filters.

    `items` validates the page: a list of `Blog`, or of any model made from a blog's fields as
    `Blog` names them (by its field names or validation aliases; the fields it lacks are left
    out), so that a page in another API's shape is validated once, straight from the rows. No
    offset page shows a body: each `body` is ''."""
    combined = sum(value is not None for value in (author, tag, favorited)) > 1
    walk = max(COUNT_CAP + 1, offset + limit) if combined else offset + limit
    page = {"walk": walk, "offset": offset, "limit": limit} | reader_params(reader)
    if author is not None:
        rows = await db.fetch_rows(
            queries.ARTICLES_PAGE_BY_AUTHOR, author=author, tag=tag, favorited=favorited, **page
        )
    elif favorited is not None:
        rows = await db.fetch_rows(
            queries.ARTICLES_PAGE_BY_FAVORITED, favorited=favorited, tag=tag, **page
        )
    elif tag is not None:
        rows = await db.fetch_rows(queries.ARTICLES_PAGE_BY_TAG, tag=tag, **page)
    else:
        rows = await db.fetch_rows(queries.ARTICLES_PAGE, **page)
    return _offset_page(rows, COUNT_CAP if combined else None, items)


async def feed_by_offset(
    *,
    db: Connection,
    items: TypeAdapter[list[ItemT]],
    reader: TokenClaims,
    limit: int,
    offset: int = 0,
) -> OffsetPage[ItemT]:
    """An offset page of the reader's feed, newest first, with its size up to FEED_COUNT_CAP.
    `items` validates the page, as in `list_blogs_by_offset`."""
    cap = FEED_COUNT_CAP
    rows = await db.fetch_rows(
        queries.ARTICLES_FEED,
        walk=max(cap + 1, offset + limit),
        offset=offset,
        limit=limit,
        **reader_params(reader),
    )
    page = _offset_page(rows, cap, items)
    # As in `feed`: only an empty feed spends a statement making sure the token is still good.
    if page.count == 0 and not await reader_current(db=db, claims=reader):
        raise AuthenticationFailed(_TOKEN_INVALID)
    return page
