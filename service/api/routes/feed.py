from fastapi import APIRouter, Response

from service import blogs
from service.api import etags
from service.api.dependencies import CursorsDep, DbDep, SignedInReader
from service.api.openapi import NOT_MODIFIED, responses
from service.api.pages import blog_page
from service.api.parameters import Cursor, IfNoneMatch, Limit
from service.models import DEFAULT_PAGE_SIZE, BlogPage

router = APIRouter(prefix="/feed", tags=["blogs"])


@router.get(
    "",
    response_model=BlogPage,
    responses=responses(401) | NOT_MODIFIED,
    summary="Your feed",
    description=(
        "Blogs by the users you follow, newest first, a keyset page at a time. Its cost is "
        "bounded by how many users you follow (at most `MAX_FOLLOWS`), never by all blogs."
    ),
)
async def read_feed(
    db: DbDep,
    cursors: CursorsDep,
    reader: SignedInReader,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_pair(cursor) if cursor else None
    items, next_key = await blogs.feed(db=db, reader=reader, limit=limit, after=after)
    return etags.json_response(blog_page(cursors, items, next_key), if_none_match=if_none_match)
