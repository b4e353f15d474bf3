"""The flow of the RealWorld project's Postman collection, in its order, with what it checks:
register, log in, the current user, update the user, articles (create, list, filter, read,
update, favorite), comments, tags, profiles, and deleting. Written from what the collection
checks, not copied from it."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.realworld.conftest import TIMESTAMP

pytestmark = pytest.mark.anyio

USER = {"email", "username", "bio", "image", "token"}
PROFILE = {"username", "bio", "image", "following"}


def _is_article(article: dict[str, Any], *, listed: bool = False) -> None:
    """An article as the collection checks it; in a list without `body` (spec 1.1.0)."""
    assert ("body" in article) is not listed
    for field in (
        "title",
        "slug",
        "createdAt",
        "updatedAt",
        "description",
        "tagList",
        "author",
        "favorited",
        "favoritesCount",
    ):
        assert field in article, field
    assert TIMESTAMP.match(article["createdAt"]) and TIMESTAMP.match(article["updatedAt"])
    assert isinstance(article["tagList"], list)
    assert isinstance(article["favoritesCount"], int)
    assert isinstance(article["favorited"], bool)


def _is_list(body: dict[str, Any]) -> None:
    assert isinstance(body["articlesCount"], int)
    if body["articles"]:
        _is_article(body["articles"][0], listed=True)
    else:
        assert body["articlesCount"] == 0


async def test_the_postman_collection_s_flow(client: AsyncClient) -> None:
    suffix = uuid.uuid4().hex[:8]
    username, email, password = f"u{suffix}", f"u{suffix}@example.com", "password-" + suffix

    # Auth
    registered = await client.post(
        "/api/users", json={"user": {"email": email, "password": password, "username": username}}
    )
    assert registered.status_code == 201
    assert set(registered.json()["user"]) >= USER
    login = await client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )
    assert login.status_code == 200
    token = login.json()["user"]["token"]
    auth = {"Authorization": f"Token {token}"}
    current = await client.get("/api/user", headers=auth)
    assert set(current.json()["user"]) >= USER
    updated = await client.put("/api/user", json={"user": {"email": email}}, headers=auth)
    assert updated.status_code == 200
    assert set(updated.json()["user"]) >= USER

    # Articles
    for query, headers in (
        ("", {}),
        ("", auth),
        ("?author=johnjacob", {}),
        (f"?author={username}", auth),
    ):
        listed = await client.get(f"/api/articles{query}", headers=headers)
        assert listed.status_code == 200
        _is_list(listed.json())
    created = await client.post(
        "/api/articles",
        json={
            "article": {
                "title": "How to train your dragon",
                "description": "Ever wonder how?",
                "body": "Very carefully.",
                "tagList": ["training", "dragons"],
            }
        },
        headers=auth,
    )
    assert created.status_code == 201
    article = created.json()["article"]
    _is_article(article)
    assert article["tagList"] == ["dragons", "training"]
    slug = article["slug"]
    feed = await client.get("/api/articles/feed", headers=auth)
    assert feed.status_code == 200
    _is_list(feed.json())
    by_author = await client.get(f"/api/articles?author={username}", headers=auth)
    _is_list(by_author.json())
    assert by_author.json()["articlesCount"] == 1
    single = await client.get(f"/api/articles/{slug}", headers=auth)
    _is_article(single.json()["article"])
    by_tag = await client.get("/api/articles?tag=dragons", headers=auth)
    assert by_tag.status_code == 200
    first = by_tag.json()["articles"][0]
    _is_article(first, listed=True)
    assert first["tagList"][0] == "dragons" and first["tagList"][1] == "training"
    changed = await client.put(
        f"/api/articles/{slug}",
        json={"article": {"body": "With two hands"}},
        headers=auth,
    )
    assert changed.status_code == 200
    assert changed.json()["article"]["body"] == "With two hands"
    favorited = await client.post(f"/api/articles/{slug}/favorite", headers=auth)
    assert favorited.json()["article"]["favorited"] is True
    assert favorited.json()["article"]["favoritesCount"] > 0
    by_favorite = await client.get(f"/api/articles?favorited={username}", headers=auth)
    _is_list(by_favorite.json())
    assert by_favorite.json()["articles"][0]["favorited"] is True
    assert by_favorite.json()["articles"][0]["favoritesCount"] == 1
    unfavorited = await client.delete(f"/api/articles/{slug}/favorite", headers=auth)
    assert unfavorited.json()["article"]["favorited"] is False
    assert isinstance(unfavorited.json()["article"]["favoritesCount"], int)

    # Comments
    commented = await client.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": "Thank you so much!"}},
        headers=auth,
    )
    comment = commented.json()["comment"]
    assert {"id", "body", "createdAt", "updatedAt", "author"} <= set(comment)
    assert TIMESTAMP.match(comment["createdAt"]) and TIMESTAMP.match(comment["updatedAt"])
    comments = await client.get(f"/api/articles/{slug}/comments", headers=auth)
    assert comments.status_code == 200
    assert comments.json()["comments"][0]["id"] == comment["id"]
    deleted = await client.delete(f"/api/articles/{slug}/comments/{comment['id']}", headers=auth)
    assert deleted.status_code == 204

    # Tags
    tags = await client.get("/api/tags")
    assert isinstance(tags.json()["tags"], list)
    assert "dragons" in tags.json()["tags"]

    # Profiles: a celebrity to follow
    celeb = f"celeb_{suffix}"
    celeb_user = await client.post(
        "/api/users",
        json={"user": {"email": f"{celeb}@example.com", "password": password, "username": celeb}},
    )
    assert celeb_user.status_code == 201
    profile = await client.get(f"/api/profiles/{celeb}", headers=auth)
    assert set(profile.json()["profile"]) == PROFILE
    followed = await client.post(
        f"/api/profiles/{celeb}/follow", json={"user": {"email": email}}, headers=auth
    )
    assert set(followed.json()["profile"]) == PROFILE
    assert followed.json()["profile"]["following"] is True
    unfollowed = await client.delete(f"/api/profiles/{celeb}/follow", headers=auth)
    assert unfollowed.json()["profile"]["following"] is False

    # Cleanup
    gone = await client.delete(f"/api/articles/{slug}", headers=auth)
    assert gone.status_code == 204
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404
