from fastapi import APIRouter, Response, status

from service import blogs
from service.api import etags
from service.api.dependencies import CurrentUser, CursorsDep, DbDep, SettingsDep
from service.api.openapi import NOT_MODIFIED, responses
from service.api.pages import blog_page
from service.api.parameters import (
    AuthorId,
    BlogId,
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    SearchQuery,
)
from service.models import DEFAULT_PAGE_SIZE, Blog, BlogCreate, BlogPage, BlogUpdate

router = APIRouter(prefix="/blogs", tags=["blogs"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Blog,
    responses=responses(400, 401, 413),
    summary="Write a blog",
    description="Write a blog as the current user. The response carries the blog's `ETag`.",
)
async def create_blog(db: DbDep, user: CurrentUser, data: BlogCreate) -> Response:
    blog = await blogs.create_blog(db=db, owner=user, data=data)
    return etags.json_response(blog, etag=etags.blog_etag(blog), status_code=201)


@router.get(
    "",
    response_model=BlogPage,
    responses=responses() | NOT_MODIFIED,
    summary="List blogs",
    description=(
        "Blogs newest first, a keyset page at a time, optionally by one author and matching a "
        "full-text search `q` over title and body. The page's `ETag` works with `If-None-Match`."
    ),
)
async def list_blogs(
    db: DbDep,
    settings: SettingsDep,
    cursors: CursorsDep,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    author_id: AuthorId = None,
    q: SearchQuery = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_pair(cursor) if cursor else None
    search = None if q is None else blogs.Search(query=q, config=settings.search_config)
    items, next_key = await blogs.list_blogs(
        db=db, limit=limit, after=after, author_id=author_id, search=search
    )
    return etags.json_response(blog_page(cursors, items, next_key), if_none_match=if_none_match)


@router.get(
    "/{blog_id}",
    response_model=Blog,
    responses=responses(404) | NOT_MODIFIED,
    summary="Read a blog",
    description="A blog with its owner's id and name, and its `ETag`.",
)
async def read_blog(db: DbDep, blog_id: BlogId, if_none_match: IfNoneMatch = None) -> Response:
    blog = await blogs.get_blog(db=db, blog_id=blog_id)
    return etags.json_response(blog, etag=etags.blog_etag(blog), if_none_match=if_none_match)


@router.patch(
    "/{blog_id}",
    response_model=Blog,
    responses=responses(400, 401, 403, 404, 412, 413),
    summary="Edit a blog",
    description=(
        "Change the title, the body or both; owner only. `updated_at` moves. Send the `ETag` "
        "you read as `If-Match` so a concurrent edit is never silently overwritten."
    ),
)
async def update_blog(
    db: DbDep, user: CurrentUser, blog_id: BlogId, data: BlogUpdate, if_match: IfMatch = None
) -> Response:
    blog = await blogs.update_blog(
        db=db, blog_id=blog_id, user_id=user.id, data=data, versions=etags.versions(if_match)
    )
    return etags.json_response(blog, etag=etags.blog_etag(blog))


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
