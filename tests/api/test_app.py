import pytest
from httpx import AsyncClient

pytestmark = pytest.mark.anyio

ENDPOINTS = {
    ("post", "/auth/token"),
    ("post", "/users"),
    ("get", "/users"),
    ("get", "/users/me"),
    ("patch", "/users/me"),
    ("delete", "/users/me"),
    ("get", "/users/{user_id}"),
    ("get", "/users/{user_id}/blogs"),
    ("post", "/users/{user_id}/follow"),
    ("delete", "/users/{user_id}/follow"),
    ("post", "/blogs"),
    ("get", "/blogs"),
    ("get", "/blogs/{blog_id}"),
    ("patch", "/blogs/{blog_id}"),
    ("delete", "/blogs/{blog_id}"),
    ("post", "/blogs/{blog_id}/favorite"),
    ("delete", "/blogs/{blog_id}/favorite"),
    ("get", "/tags"),
    ("get", "/feed"),
    ("post", "/blogs/{blog_id}/comments"),
    ("get", "/blogs/{blog_id}/comments"),
    ("delete", "/blogs/{blog_id}/comments/{comment_id}"),
    ("get", "/health"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
}

# The RealWorld API (service/api/realworld/).
ENDPOINTS |= {
    ("post", "/api/users"),
    ("post", "/api/users/login"),
    ("get", "/api/user"),
    ("put", "/api/user"),
    ("get", "/api/profiles/{username}"),
    ("post", "/api/profiles/{username}/follow"),
    ("delete", "/api/profiles/{username}/follow"),
    ("get", "/api/articles"),
    ("post", "/api/articles"),
    ("get", "/api/articles/feed"),
    ("get", "/api/articles/{slug}"),
    ("put", "/api/articles/{slug}"),
    ("delete", "/api/articles/{slug}"),
    ("post", "/api/articles/{slug}/favorite"),
    ("delete", "/api/articles/{slug}/favorite"),
    ("get", "/api/articles/{slug}/comments"),
    ("post", "/api/articles/{slug}/comments"),
    ("delete", "/api/articles/{slug}/comments/{comment_id}"),
    ("get", "/api/tags"),
}


async def test_openapi_documents_every_endpoint(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = {
        (method, path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) == ENDPOINTS
    for key, operation in operations.items():
        assert operation.get("summary"), key
        for code, response in operation["responses"].items():
            assert response.get("description"), (key, code)
    secured = {key for key, op in operations.items() if op.get("security")}
    for key in secured:
        assert "401" in operations[key]["responses"], key
    owner_only = {("patch", "/blogs/{blog_id}"), ("delete", "/blogs/{blog_id}")}
    for key in owner_only:
        assert {"401", "403", "404", "422"} <= set(operations[key]["responses"]), key
    assert "409" in operations[("post", "/users")]["responses"]
    assert "password_hash" not in str(schema["components"]["schemas"])


async def test_docs_are_served(client: AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
