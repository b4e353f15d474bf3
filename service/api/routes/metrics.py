import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Response

from service.api.dependencies import SettingsDep
from service.api.openapi import responses
from service.errors import AuthenticationFailed
from service.observability import metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses=responses(401) | {200: {"content": {"text/plain": {}}}},
    summary="Prometheus metrics",
    description=(
        "Every metric in Prometheus' text format, summed over the worker processes. With "
        "`METRICS_TOKEN` set, only for `Authorization: Bearer <METRICS_TOKEN>`; off with "
        "`METRICS_ENABLED=false`."
    ),
)
async def read_metrics(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    if settings.metrics_token and not hmac.compare_digest(
        (authorization or "").encode(), f"Bearer {settings.metrics_token}".encode()
    ):
        raise AuthenticationFailed("the metrics token is missing or wrong")
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
