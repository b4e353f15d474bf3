"""Data functions for comments on blogs."""

from typing import Any

from pydantic import TypeAdapter

from service.db import queries
from service.db.database import Connection, Row
from service.errors import AuthenticationFailed, Forbidden, NotFound
from service.models import Comment, CommentCreate, User
from service.pages import split_page
from service.profiles import AUTHOR, profile_fields, reader_params
from service.tokens import TokenClaims

CommentKey = int
"""Where a page of comments continues: the id of the last comment shown."""

_BLOG_NOT_FOUND = "blog not found"


def _comment_fields(row: Row) -> dict[str, Any]:
    """A comment's fields from a row of the named comment queries, which alias the author's."""
    return {
        "id": row["id"],
        "body": row["body"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "author": profile_fields(row, AUTHOR),
    }


def _comment(row: Row) -> Comment:
    return Comment.model_validate(_comment_fields(row))


# A page validated in one call, as blogs' pages are.
_COMMENT_LIST = TypeAdapter(list[Comment])


async def create_comment(
    *, db: Connection, blog_id: int, author: User, data: CommentCreate
) -> Comment:
    row = await db.fetch_row(
        queries.COMMENT_CREATE, blog_id=blog_id, user_id=author.id, body=data.body
    )
    if row is None:
        # The author deleted their account while this request was on its way: so is the token.
        raise AuthenticationFailed("the token is invalid or has expired")
    if row["id"] is None:
        raise NotFound(_BLOG_NOT_FOUND)
    return _comment(row)


async def list_comments(
    *,
    db: Connection,
    blog_id: int | None = None,
    slug: str | None = None,
    reader: TokenClaims | None,
    limit: int,
    after: CommentKey | None = None,
) -> tuple[list[Comment], CommentKey | None]:
    """A page of the comments of the blog with this id or (without one) this slug, oldest
    first, and the key to continue after, or None on the last page. NotFound for an unknown
    blog. One statement, empty page or not."""
    rows = await db.fetch_rows(
        queries.COMMENTS_PAGE,
        blog_id=blog_id,
        slug=slug,
        after_id=after or 0,
        limit=limit + 1,
        **reader_params(reader),
    )
    if not rows:
        raise NotFound(_BLOG_NOT_FOUND)
    found = sorted((row for row in rows if row["id"] is not None), key=lambda row: row["id"])
    page, last = split_page(found, limit)
    items = _COMMENT_LIST.validate_python([_comment_fields(row) for row in page])
    return items, None if last is None else last["id"]


async def delete_comment(*, db: Connection, blog_id: int, comment_id: int, user_id: int) -> None:
    """Delete a comment; its author and the blog's owner may."""
    row = await db.fetch_row(
        queries.COMMENT_DELETE, blog_id=blog_id, id=comment_id, user_id=user_id
    )
    if row is None:
        raise NotFound("comment not found")
    if not row["deleted"]:
        if user_id not in (row["author_id"], row["owner_id"]):
            raise Forbidden("only the comment's author or the blog's owner may delete it")
        raise NotFound("comment not found")  # deleted meanwhile
