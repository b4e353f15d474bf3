"""Data functions for comments on blogs."""

import sqlalchemy as sa

from service.db import queries
from service.db.database import Connection, Row
from service.db.tables import blogs
from service.errors import AuthenticationFailed, Forbidden, NotFound
from service.models import Comment, CommentCreate, User
from service.pages import split_page
from service.profiles import profile, reader_params
from service.tokens import TokenClaims

CommentKey = int
"""Where a page of comments continues: the id of the last comment shown."""

_BLOG_NOT_FOUND = "blog not found"


def _comment(row: Row) -> Comment:
    """A comment from a row of the named comment queries, which alias the author's columns."""
    return Comment(
        id=row["id"],
        body=row["body"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        author=profile(row, "author_"),
    )


async def _blog_exists(db: Connection, blog_id: int) -> bool:
    row = await db.fetch_one(sa.select(sa.exists().where(blogs.c.id == blog_id).label("found")))
    return bool(row and row["found"])


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
    blog_id: int,
    reader: TokenClaims | None,
    limit: int,
    after: CommentKey | None = None,
) -> tuple[list[Comment], CommentKey | None]:
    """A page of a blog's comments, oldest first, and the key to continue after, or None on the
    last page. NotFound for an unknown blog."""
    rows = await db.fetch_rows(
        queries.COMMENTS_PAGE,
        blog_id=blog_id,
        after_id=after or 0,
        limit=limit + 1,
        **reader_params(reader),
    )
    page, last = split_page(rows, limit)
    # An empty page is rare (no comments, or past the last one): only then ask whether the
    # blog exists.
    if not page and not await _blog_exists(db, blog_id):
        raise NotFound(_BLOG_NOT_FOUND)
    return [_comment(row) for row in page], None if last is None else last["id"]


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
