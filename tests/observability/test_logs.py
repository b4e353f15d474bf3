"""Log lines: JSON or text, with the request's id and user, and never a secret."""

import json
import logging
import logging.config

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.models import UserCreate
from service.observability import context
from service.observability.logs import JsonFormatter, RequestContext, TextFormatter, dict_config
from service.testing.accounts import PASSWORD, SignUp

pytestmark = pytest.mark.anyio


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "service.access", "msg": "request", "levelno": 20})
    record.levelname = "INFO"
    record.__dict__.update(extra)
    return record


def test_a_json_line_has_the_fields_and_the_request_context() -> None:
    request, user = context.request_id.set("rid-1"), context.user_id.set(7)
    try:
        record = _record(method="GET", route="/blogs/{blog_id}", status=200, duration_ms=1.5)
        assert RequestContext().filter(record)
    finally:
        context.request_id.reset(request)
        context.user_id.reset(user)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["level"] == "info"
    assert {k: line[k] for k in ("method", "route", "status", "duration_ms")} == {
        "method": "GET",
        "route": "/blogs/{blog_id}",
        "status": 200,
        "duration_ms": 1.5,
    }
    assert (line["request_id"], line["user_id"]) == ("rid-1", 7)
    assert line["time"].endswith("Z")


def test_a_text_line_is_one_readable_line() -> None:
    text = TextFormatter().format(_record(route="/users/me", status=401))
    assert text == "INFO: request [route=/users/me status=401]"


def test_the_server_configuration_is_valid_for_both_formats() -> None:
    for fmt in ("json", "text"):
        config = dict_config(fmt=fmt, level="info")
        assert config["formatters"]["default"]["()"].endswith(
            "JsonFormatter" if fmt == "json" else "TextFormatter"
        )
        logging.config.dictConfig(config | {"incremental": False, "root": {"level": "INFO"}})


async def test_no_password_token_or_email_reaches_a_log_line(
    client: AsyncClient, sign_up: SignUp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = await sign_up(email="private.person@example.com")
    token = user.headers["Authorization"].removeprefix("Bearer ")
    secrets = [PASSWORD, "private.person@example.com", token, "wrong-secret-pw"]
    await client.post("/auth/token", data={"username": user.email, "password": "wrong-secret-pw"})
    await client.post("/users", json={"name": "", "email": user.email, "password": "short"})
    await client.patch(
        "/users/me",
        json={"password": "wrong-secret-pw", "current_password": PASSWORD},
        headers=user.headers,
    )
    await client.get("/users/me", headers=user.headers)
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    for secret in secrets:
        assert [line for line in lines if secret in line] == [], secret


async def test_an_unexpected_validation_error_is_logged_without_its_inputs(
    app: FastAPI, lenient: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A bug that lets a model reject what a request sent (as an email of 130 `İ` once did):
    # the 500's logged traceback must not carry the email.
    email = "İ" * 130 + "@example.com"

    async def broken() -> None:
        UserCreate.model_validate({"name": "x", "email": email, "password": "x"})

    app.add_api_route("/test-only/broken-model", broken, methods=["GET"])
    caplog.set_level(logging.ERROR)
    assert (await lenient.get("/test-only/broken-model")).status_code == 500
    (record,) = [r for r in caplog.records if r.exc_info]
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert "ValidationError: (its inputs are not logged)" in line
        assert "İİİ" not in line and "\\u0130" not in line
