"""An email within the length limit as sent but beyond it lower-cased (`İ` lower-cases to two
characters) is a 422 on both APIs, never a 500, and no log line carries it."""

import logging

import pytest
from httpx import AsyncClient

from service.testing.accounts import PASSWORD, SignUp

pytestmark = pytest.mark.anyio

# 130 + 12 characters as sent, 272 once lower-cased: over the 254 allowed.
LONG_ONCE_LOWERED = "İ" * 130 + "@example.com"


def _carries_the_email(caplog: pytest.LogCaptureFixture) -> list[str]:
    lowered = LONG_ONCE_LOWERED.lower()
    return [
        record.getMessage()
        for record in caplog.records
        if "İ" in (text := record.getMessage() + str(record.exc_info) + str(record.__dict__))
        or lowered[:20] in text
    ]


async def test_a_sign_up_is_a_422_on_both_apis(
    lenient: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    native = await lenient.post(
        "/users", json={"name": "Eve", "email": LONG_ONCE_LOWERED, "password": PASSWORD}
    )
    assert native.status_code == 422, native.text
    assert "254 characters" in native.text
    realworld = await lenient.post(
        "/api/users",
        json={"user": {"username": "eve", "email": LONG_ONCE_LOWERED, "password": PASSWORD}},
    )
    assert realworld.status_code == 422, realworld.text
    assert "254 characters" in realworld.text
    assert _carries_the_email(caplog) == []


async def test_an_email_change_is_a_422_on_both_apis(
    lenient: AsyncClient, sign_up: SignUp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ada = await sign_up()
    change = {"email": LONG_ONCE_LOWERED, "current_password": PASSWORD}
    native = await lenient.patch("/users/me", json=change, headers=ada.headers)
    assert native.status_code == 422, native.text
    realworld = await lenient.put("/api/user", json={"user": change}, headers=ada.headers)
    assert realworld.status_code == 422, realworld.text
    assert _carries_the_email(caplog) == []
