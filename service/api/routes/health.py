from fastapi import APIRouter

from service.api.dependencies import DatabaseDep
from service.api.openapi import responses
from service.errors import DatabaseUnavailable
from service.models import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health, summary="Liveness: 200 while the process runs")
async def live() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Health,
    responses=responses(),
    summary="Readiness: 200 when the database answers, 503 when it does not",
)
async def ready(database: DatabaseDep) -> Health:
    if not await database.ping():
        raise DatabaseUnavailable("the database is unavailable")
    return Health()
