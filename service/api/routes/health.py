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
    summary="Readiness: 200 when the primary database takes writes, 503 when it does not",
    description=(
        "`primary` is the server writes go to now (`host:port`, as PostgreSQL reports it; with "
        "a URL naming several hosts, the one that takes writes), `writable` whether it does. "
        "`databases` says how each database is: the primary `ok`, `read_only` (it answers but "
        "takes no writes, as during a failover) or `down`; each replica `ok`, `lagging` "
        "(further behind than `REPLICA_MAX_LAG`: no reads), `down` or `promoted` (it became a "
        "primary: still read from). Replicas do not decide readiness: without them reads go to "
        "the primary."
    ),
)
async def ready(databases: DatabasesDep) -> JSONResponse:
    states, primary, writable = await databases.states()
    body = Readiness(
        status="ok" if writable else "unavailable",
        databases=states,
        primary=primary,
        writable=writable,
    )
    headers = None if writable else {"Retry-After": "1"}
    return JSONResponse(body.model_dump(), status_code=200 if writable else 503, headers=headers)
