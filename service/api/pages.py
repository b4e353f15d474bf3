"""Keyset pages as responses: the items and the signed cursor to the next page."""

from service.api.cursors import CursorCodec
from service.blogs import BlogKey
from service.comments import CommentKey
from service.models import Blog, BlogPage, Comment, CommentPage, UserPage, UserPublic


def blog_page(cursors: CursorCodec, items: list[Blog], next_key: BlogKey | None) -> BlogPage:
    return BlogPage(
        items=items, next_cursor=None if next_key is None else cursors.encode(*next_key)
    )


def user_page(cursors: CursorCodec, items: list[UserPublic], next_id: int | None) -> UserPage:
    return UserPage(items=items, next_cursor=None if next_id is None else cursors.encode(next_id))


def comment_page(
    cursors: CursorCodec, items: list[Comment], next_key: CommentKey | None
) -> CommentPage:
    return CommentPage(
        items=items, next_cursor=None if next_key is None else cursors.encode(next_key)
    )
