"""Errors under /api in the spec's shape; native errors keep theirs."""

import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import assert_errors

pytestmark = pytest.mark.anyio


async def test_an_unknown_path_under_api_has_the_spec_s_error_shape(client: AsyncClient) -> None:
    assert_errors(await client.get("/api/nothing-here"), 404)
    assert_errors(await client.patch("/api/tags"), 405)


async def test_native_errors_keep_their_shape(client: AsyncClient) -> None:
    response = await client.get("/blogs/999999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "blog not found"}
    assert "detail" in (await client.get("/blogs?limit=0")).json()


async def test_an_error_naming_a_key_that_is_not_unicode_is_still_answered(
    client: AsyncClient,
) -> None:
    body = b'{"user": {"\\ud800": 1, "email": "a@example.com", "password": "x"}}'
    response = await client.post(
        "/api/users/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert_errors(response, 422)
