"""GET /api/tags."""

from fastapi import APIRouter

from service import blogs
from service.api.dependencies import DbDep
from service.api.realworld.models import TagsResponse
from service.api.realworld.openapi import errors
from service.models import MAX_PAGE_SIZE

router = APIRouter(prefix="/api", tags=["RealWorld: tags"])

# The spec has no bound: the most used this many are shown.
MAX_TAGS = MAX_PAGE_SIZE


@router.get(
    "/tags",
    response_model=TagsResponse,
    responses=errors(),
    summary="Tags",
    description=f"The {MAX_TAGS} most used tags, most used first.",
)
async def list_tags(db: DbDep) -> TagsResponse:
    return TagsResponse(tags=[tag.name for tag in await blogs.top_tags(db=db, limit=MAX_TAGS)])
