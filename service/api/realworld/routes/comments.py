"""GET and POST /api/articles/{slug}/comments, DELETE /api/articles/{slug}/comments/{id}."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from service import blogs, comments
from service.api.dependencies import DbDep
from service.api.realworld.dependencies import CountedWrite, CurrentUser, Reader
from service.api.realworld.models import (
    CommentResponse,
    MultipleCommentsResponse,
    NewCommentRequest,
    comment,
)
from service.api.realworld.openapi import errors
from service.api.realworld.routes.articles import Slug
from service.models import MAX_ID, MAX_PAGE_SIZE

router = APIRouter(prefix="/api/articles/{slug}/comments", tags=["RealWorld: comments"])

CommentId = Annotated[int, Path(ge=1, le=MAX_ID)]
# The spec has no paging for comments: the oldest this many are shown.
MAX_COMMENTS = MAX_PAGE_SIZE


@router.get(
    "",
    response_model=MultipleCommentsResponse,
    responses=errors(401, 404),
    summary="An article's comments",
    description=(
        f"Oldest first, at most {MAX_COMMENTS}; `author.following` is the caller's, if any."
    ),
)
async def list_comments(db: DbDep, reader: Reader, slug: Slug) -> MultipleCommentsResponse:
    items, _ = await comments.list_comments(db=db, slug=slug, reader=reader, limit=MAX_COMMENTS)
    return MultipleCommentsResponse(comments=[comment(item) for item in items])


@router.post(
    "",
    dependencies=[CountedWrite],
    response_model=CommentResponse,
    responses=errors(400, 401, 404, 413, 429),
    summary="Comment on an article",
    description="1-10,000 characters, trimmed. 200, as the spec says.",
)
async def add_comment(
    db: DbDep, user: CurrentUser, slug: Slug, data: NewCommentRequest
) -> CommentResponse:
    found = await blogs.get_blog_by_slug(db=db, slug=slug)
    created = await comments.create_comment(db=db, blog_id=found.id, author=user, data=data.comment)
    return CommentResponse(comment=comment(created))


@router.delete(
    "/{comment_id}",
    dependencies=[CountedWrite],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404, 429),
    summary="Delete a comment",
    description="The comment's author or the article's author (403 otherwise). 204, as the spec "
    "has it since 1.1.0.",
)
async def delete_comment(
    db: DbDep, user: CurrentUser, slug: Slug, comment_id: CommentId
) -> Response:
    found = await blogs.get_blog_by_slug(db=db, slug=slug)
    await comments.delete_comment(db=db, blog_id=found.id, comment_id=comment_id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
