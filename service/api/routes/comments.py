from fastapi import APIRouter, Response, status

from service import comments
from service.api import etags
from service.api.dependencies import CountedWrite, CurrentUser, CursorsDep, DbDep, Reader
from service.api.openapi import CREATED, NOT_MODIFIED, responses
from service.api.pages import comment_page
from service.api.parameters import BlogId, CommentId, Cursor, IfNoneMatch, Limit
from service.models import DEFAULT_PAGE_SIZE, Comment, CommentCreate, CommentPage

router = APIRouter(prefix="/blogs/{blog_id}/comments", tags=["comments"])


@router.post(
    "",
    dependencies=[CountedWrite],
    status_code=status.HTTP_201_CREATED,
    response_model=Comment,
    responses=CREATED | responses(400, 401, 404, 413, 429),
    summary="Comment on a blog",
    description=(
        "Write a comment on a blog as the current user. The body is trimmed and holds 1-10,000 "
        "characters."
    ),
)
async def create_comment(
    db: DbDep, user: CurrentUser, blog_id: BlogId, data: CommentCreate, response: Response
) -> Comment:
    comment = await comments.create_comment(db=db, blog_id=blog_id, author=user, data=data)
    response.headers["Location"] = f"/blogs/{blog_id}/comments/{comment.id}"
    return comment


@router.get(
    "",
    response_model=CommentPage,
    responses=responses(401, 404) | NOT_MODIFIED,
    summary="List a blog's comments",
    description=(
        "A blog's comments oldest first, a keyset page at a time, each with its author's "
        "profile. With a bearer token, `following` says whether the reader follows each author; "
        "anonymously it is false. The page's `ETag` works with `If-None-Match`."
    ),
)
async def list_comments(
    db: DbDep,
    cursors: CursorsDep,
    reader: Reader,
    blog_id: BlogId,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_one(cursor) if cursor else None
    items, next_key = await comments.list_comments(
        db=db, blog_id=blog_id, reader=reader, limit=limit, after=after
    )
    return etags.json_response(comment_page(cursors, items, next_key), if_none_match=if_none_match)


@router.delete(
    "/{comment_id}",
    dependencies=[CountedWrite],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 404, 429),
    summary="Delete a comment",
    description="The comment's author and the blog's owner may.",
)
async def delete_comment(
    db: DbDep, user: CurrentUser, blog_id: BlogId, comment_id: CommentId
) -> Response:
    await comments.delete_comment(db=db, blog_id=blog_id, comment_id=comment_id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
