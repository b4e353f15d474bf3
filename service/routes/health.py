from fastapi import APIRouter

from service.deps import DatabaseDep
from service.errors import DatabaseUnavailable
from service.http_errors import responses
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
