from fastapi import APIRouter, Response

from service import blogs
from service.api import etags
from service.api.dependencies import DbDep
from service.api.openapi import NOT_MODIFIED, responses
from service.api.parameters import IfNoneMatch, TagLimit
from service.models import DEFAULT_PAGE_SIZE, TagList

router = APIRouter(prefix="/tags", tags=["tags"])


@router.get(
    "",
    response_model=TagList,
    responses=responses() | NOT_MODIFIED,
    summary="Popular tags",
    description="The tags most blogs carry, most used first, at most `limit`.",
)
async def list_tags(
    db: DbDep, limit: TagLimit = DEFAULT_PAGE_SIZE, if_none_match: IfNoneMatch = None
) -> Response:
    items = await blogs.top_tags(db=db, limit=limit)
    return etags.json_response(TagList(items=items), if_none_match=if_none_match)
