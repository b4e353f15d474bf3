"""Which reads the response cache keeps, and what each one shows: the keys of the `read_cache`
notifications (sql/migrations/0017_read_cache_notify.sql) that must drop it.

- A blog, by id or by slug: its own key. Its owner's profile is on it too, and any change to a
  profile announces `*`; its tags and favorites count are announced under the blog's key.
- A blog's comments, by id or by slug: the comments' key of the blog (a deleted blog announces
  it too, so its page turns 404). Authors' profiles: `*`, as above.
- Every list (the blogs, a user's blogs, tag and search pages, the articles however filtered,
  the tags): `L`, which any new, changed or deleted blog, tag link or favorite announces.
- A profile, by id or by username: nothing but `*`.

Path parameters are read as the route reads them: ids as integers ("/blogs/007" shows blog 7),
slugs exactly. A value that is not one gives no keys, so that page is not stored.
"""

from collections.abc import Callable, Mapping
from typing import Any

LISTS = "L"

Dependencies = Callable[[Mapping[str, Any]], tuple[str, ...] | None]


def _lists(_params: Mapping[str, Any]) -> tuple[str, ...]:
    return (LISTS,)


def _nothing(_params: Mapping[str, Any]) -> tuple[str, ...]:
    return ()


def _by_id(prefix: str) -> Dependencies:
    def dependencies(params: Mapping[str, Any]) -> tuple[str, ...] | None:
        value = params.get("blog_id")
        if not isinstance(value, str) or not value.isascii() or not value.strip().isdigit():
            return None
        return (f"{prefix}{int(value)}",)

    return dependencies


def _by_slug(prefix: str) -> Dependencies:
    def dependencies(params: Mapping[str, Any]) -> tuple[str, ...] | None:
        value = params.get("slug")
        return (f"{prefix}{value}",) if isinstance(value, str) and value else None

    return dependencies


PUBLIC_READS: dict[str, Dependencies] = {
    "/blogs": _lists,
    "/blogs/{blog_id}": _by_id("b:"),
    "/blogs/{blog_id}/comments": _by_id("c:"),
    "/users/{user_id}": _nothing,
    "/users/{user_id}/blogs": _lists,
    "/tags": _lists,
    "/api/articles": _lists,
    "/api/articles/{slug}": _by_slug("s:"),
    "/api/articles/{slug}/comments": _by_slug("k:"),
    "/api/profiles/{username}": _nothing,
    "/api/tags": _lists,
}
"""Route templates of the public reads, and the keys of a page of each."""


def dependencies(route_path: str, params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The keys of a page answered by `route_path`; None when it is not one to cache."""
    of_route = PUBLIC_READS.get(route_path)
    return None if of_route is None else of_route(params)
