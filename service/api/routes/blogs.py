from fastapi import APIRouter, Response, status

from service import blogs
from service.api import etags
from service.api.dependencies import (
    CountedWrite,
    CurrentReader,
    CurrentUser,
    CursorsDep,
    DbDep,
    Reader,
    SettingsDep,
)
from service.api.openapi import CREATED, NOT_MODIFIED, responses
from service.api.pages import blog_page
from service.api.parameters import (
    AuthorId,
    BlogId,
    Cursor,
    IfMatch,
    IfNoneMatch,
    Limit,
    SearchQuery,
    TagFilter,
)
from service.models import DEFAULT_PAGE_SIZE, Blog, BlogCreate, BlogPage, BlogUpdate

router = APIRouter(prefix="/blogs", tags=["blogs"])


@router.post(
    "",
    dependencies=[CountedWrite],
    status_code=status.HTTP_201_CREATED,
    response_model=Blog,
    responses=CREATED | responses(400, 401, 413, 429),
    summary="Write a blog",
    description=(
        "Write a blog as the current user, with a description and up to 10 tags (kept as "
        "written, trimmed; repeats once). Its slug is made from the title and id. The response "
        "carries the blog's `ETag`."
    ),
)
async def create_blog(db: DbDep, user: CurrentUser, data: BlogCreate) -> Response:
    blog = await blogs.create_blog(db=db, owner=user, data=data)
    response = etags.blog_response(blog, status_code=201)
    response.headers["Location"] = f"/blogs/{blog.id}"
    return response


@router.get(
    "",
    response_model=BlogPage,
    responses=responses(401) | NOT_MODIFIED,
    summary="List blogs",
    description=(
        "Blogs newest first, a keyset page at a time: all of them, one author's, the ones "
        "carrying a `tag`, or those matching a full-text search `q` over title and body "
        "(optionally by one author). With a bearer token, `favorited` and `owner.following` are "
        "the reader's. The page's `ETag` works with `If-None-Match`."
    ),
)
async def list_blogs(
    db: DbDep,
    settings: SettingsDep,
    cursors: CursorsDep,
    reader: Reader,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    author_id: AuthorId = None,
    tag: TagFilter = None,
    q: SearchQuery = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_pair(cursor) if cursor else None
    search = None if q is None else blogs.Search(query=q, config=settings.search_config)
    items, next_key = await blogs.list_blogs(
        db=db,
        limit=limit,
        after=after,
        author_id=author_id,
        tag=tag,
        search=search,
        reader=reader,
    )
    return etags.json_response(blog_page(cursors, items, next_key), if_none_match=if_none_match)


@router.get(
    "/{blog_id}",
    response_model=Blog,
    responses=responses(401, 404) | NOT_MODIFIED,
    summary="Read a blog",
    description=(
        "A blog with its tags, favorites count and owner's profile, and its `ETag`. With a "
        "bearer token, `favorited` and `owner.following` are the reader's."
    ),
)
async def read_blog(
    db: DbDep, reader: Reader, blog_id: BlogId, if_none_match: IfNoneMatch = None
) -> Response:
    blog = await blogs.get_blog(db=db, blog_id=blog_id, reader=reader)
    return etags.blog_response(blog, if_none_match=if_none_match)


@router.patch(
    "/{blog_id}",
    dependencies=[CountedWrite],
    response_model=Blog,
    responses=responses(400, 401, 403, 404, 412, 413, 429),
    summary="Edit a blog",
    description=(
        "Change the title, body, description or tags (`tags` replaces them all); owner only. "
        "`updated_at` moves; the slug stays. Send the `ETag` you read as `If-Match` so a "
        "concurrent edit is never silently overwritten."
    ),
)
async def update_blog(
    db: DbDep, user: CurrentUser, blog_id: BlogId, data: BlogUpdate, if_match: IfMatch = None
) -> Response:
    blog = await blogs.update_blog(
        db=db, blog_id=blog_id, user_id=user.id, data=data, versions=etags.versions(if_match)
    )
    return etags.blog_response(blog)


@router.delete(
    "/{blog_id}",
    dependencies=[CountedWrite],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 403, 404, 429),
    summary="Delete a blog",
    description="Owner only.",
)
async def delete_blog(db: DbDep, user: CurrentUser, blog_id: BlogId) -> Response:
    await blogs.delete_blog(db=db, blog_id=blog_id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{blog_id}/favorite",
    dependencies=[CountedWrite],
    response_model=Blog,
    responses=responses(401, 404, 409, 429),
    summary="Favorite a blog",
    description="Make the blog one of your favorites; 409 if it already is.",
)
async def favorite_blog(db: DbDep, reader: CurrentReader, blog_id: BlogId) -> Response:
    blog = await blogs.favorite(db=db, reader=reader, blog_id=blog_id)
    return etags.blog_response(blog)


@router.delete(
    "/{blog_id}/favorite",
    dependencies=[CountedWrite],
    response_model=Blog,
    responses=responses(401, 404, 429),
    summary="Unfavorite a blog",
    description="Take the blog off your favorites; 404 if it was not one.",
)
async def unfavorite_blog(db: DbDep, reader: CurrentReader, blog_id: BlogId) -> Response:
    blog = await blogs.unfavorite(db=db, reader=reader, blog_id=blog_id)
    return etags.blog_response(blog)
