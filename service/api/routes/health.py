from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.dependencies import DatabasesDep
from service.api.openapi import responses
from service.models import Health, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health, summary="Liveness: 200 while the process runs")
async def live() -> Health:
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    responses=responses(),
    summary="Readiness: 200 when the primary database answers, 503 when it does not",
    description=(
        "`databases` says how each database is: the primary `ok` or `down`; each replica `ok`, "
        "`lagging` (further behind than `REPLICA_MAX_LAG`: no reads) or `down`. Replicas do "
        "not decide readiness: without them reads go to the primary."
    ),
)
async def ready(databases: DatabasesDep) -> JSONResponse:
    states = await databases.states()
    ok = states["primary"] == "ok"
    body = Readiness(status="ok" if ok else "unavailable", databases=states)
    headers = None if ok else {"Retry-After": "1"}
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503, headers=headers)
