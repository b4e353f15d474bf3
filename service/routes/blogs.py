from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service import blogs
from service.deps import MAX_ID, BlogId, CurrentUser, Cursor, CursorsDep, DbDep, Limit
from service.http_errors import responses
from service.models import DEFAULT_PAGE_SIZE, Blog, BlogCreate, BlogPage, BlogUpdate

router = APIRouter(prefix="/blogs", tags=["blogs"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Blog,
    responses=responses(401),
    summary="Write a blog",
)
async def create_blog(db: DbDep, user: CurrentUser, data: BlogCreate) -> Blog:
    return await blogs.create_blog(db=db, owner=user, data=data)


@router.get(
    "",
    response_model=BlogPage,
    responses=responses(),
    summary="List blogs",
    description=(
        "Blogs newest first, a keyset page at a time, optionally by one author and with `q` in "
        "the title (case-insensitive, plain substring: `%` and `_` are literal)."
    ),
)
async def list_blogs(
    db: DbDep,
    cursors: CursorsDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    author_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this author's blogs.")
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$", description="Title contains."),
    ] = None,
) -> BlogPage:
    after = cursors.decode(cursor, 2) if cursor else None
    items, next_key = await blogs.list_blogs(
        db=db, limit=limit, after=after, author_id=author_id, q=q
    )
    return BlogPage(
        items=items, next_cursor=None if next_key is None else cursors.encode(*next_key)
    )


@router.get(
    "/{blog_id}",
    response_model=Blog,
    responses=responses(404),
    summary="Read a blog",
    description="A blog with its owner's id and name.",
)
async def read_blog(db: DbDep, blog_id: BlogId) -> Blog:
    return await blogs.get_blog(db=db, blog_id=blog_id)


@router.patch(
    "/{blog_id}",
    response_model=Blog,
    responses=responses(401, 403, 404),
    summary="Edit a blog",
    description="Change the title, the body or both; owner only. `updated_at` moves.",
)
async def update_blog(db: DbDep, user: CurrentUser, blog_id: BlogId, data: BlogUpdate) -> Blog:
    return await blogs.update_blog(db=db, blog_id=blog_id, user_id=user.id, data=data)


@router.delete(
    "/{blog_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 404),
    summary="Delete a blog",
    description="Owner only.",
)
async def delete_blog(db: DbDep, user: CurrentUser, blog_id: BlogId) -> Response:
    await blogs.delete_blog(db=db, blog_id=blog_id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
