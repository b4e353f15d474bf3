"""Request ids, the access log, and unknown errors as a JSON 500."""

import logging

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from service.testing.accounts import PASSWORD, SignUp

pytestmark = pytest.mark.anyio


async def test_a_sane_request_id_is_kept_and_any_other_replaced(client: AsyncClient) -> None:
    kept = await client.get("/health", headers={"X-Request-ID": "trace-42.a_b"})
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    for insane in ("x" * 65, "a b", "\xe9", "a\\b", ""):
        sent = insane.encode("latin-1")
        replaced = await client.get("/health", headers={b"X-Request-ID": sent})
        assert replaced.headers["x-request-id"] != insane
        assert len(replaced.headers["x-request-id"]) == 16
    first, second = await client.get("/health"), await client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_every_response_carries_one(client: AsyncClient) -> None:
    for response in (
        await client.get("/blogs/0"),  # 422
        await client.get("/blogs/987654321"),  # 404
        await client.post("/users", content=b"{", headers={"content-type": "application/json"}),
        await client.get("/users/me"),  # 401
    ):
        assert len(response.headers["x-request-id"]) == 16, response.status_code


async def test_the_access_log_has_one_line_per_request_with_its_user(
    app: FastAPI, client: AsyncClient, sign_up: SignUp, caplog: pytest.LogCaptureFixture
) -> None:
    observe = next(m for m in app.user_middleware if m.cls.__name__ == "Observe")
    assert observe.kwargs["access_log"] is False  # the default
    app.middleware_stack = None  # rebuilt on the next request, with the access log on
    observe.kwargs["access_log"] = True
    user = await sign_up()
    caplog.set_level(logging.INFO, logger="service.access")
    caplog.clear()
    response = await client.get("/users/me", headers=user.headers | {"X-Request-ID": "find-me-1"})
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "service.access"]
    assert record.getMessage() == "request"
    fields = {k: record.__dict__[k] for k in ("method", "route", "status")}
    assert fields == {"method": "GET", "route": "/users/me", "status": 200}
    assert record.duration_ms >= 0
    # What the handler's context filter adds: this request's id and user.
    assert (record.request_id, record.user_id) == ("find-me-1", user.id)


async def test_an_unknown_error_is_a_json_500_with_the_request_id_and_is_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "bug-report-7"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error", "request_id": "bug-report-7"}
    assert response.headers["x-request-id"] == "bug-report-7"
    (logged,) = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert logged.exc_info is not None and "a bug" in str(logged.exc_info[1])


async def test_a_slow_request_is_a_warning(
    app: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    observe = next(m for m in app.user_middleware if m.cls.__name__ == "Observe")
    assert observe.kwargs["slow_request_ms"] >= 1
    app.middleware_stack = None  # rebuilt on the next request, with a threshold of 1 ms
    observe.kwargs["slow_request_ms"] = 1
    await client.post(
        "/users", json={"name": "A", "email": "slow@example.com", "password": PASSWORD}
    )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(r.getMessage() == "slow request" and r.route == "/users" for r in warnings)
