from datetime import UTC, datetime

import pytest

from service.api.etags import blog_etag, blog_response, content_etag, none_match, versions
from service.models import Blog, Profile

MOMENT = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
BLOG = Blog(
    id=1,
    slug="t-1",
    title="t",
    description="",
    body="b",
    tags=[],
    created_at=MOMENT,
    updated_at=MOMENT,
    favorites_count=0,
    favorited=False,
    owner=Profile(id=2, name="Ada", username="ada.2", bio=None, image=None, following=False),
)


def _etag(blog: Blog) -> str:
    return blog_response(blog).headers["ETag"]


def test_a_blog_s_etag_names_its_version() -> None:
    assert versions(_etag(BLOG)) == [MOMENT]
    assert _etag(BLOG) == blog_etag(MOMENT, blog_response(BLOG).body)


@pytest.mark.parametrize(
    "change",
    [
        {"favorites_count": 1},
        {"favorited": True},
        {"owner": BLOG.owner.model_copy(update={"name": "Bea"})},
        {"owner": BLOG.owner.model_copy(update={"following": True})},
    ],
)
def test_what_changes_without_a_new_version_changes_the_tag(change: dict[str, object]) -> None:
    changed = BLOG.model_copy(update=change)
    assert _etag(changed) != _etag(BLOG)
    assert versions(_etag(changed)) == [MOMENT]


def test_a_current_copy_is_not_sent_again() -> None:
    response = blog_response(BLOG, if_none_match=_etag(BLOG))
    assert response.status_code == 304
    assert response.body == b""


def test_if_match_lists_and_wildcards() -> None:
    tag = _etag(BLOG)
    assert versions(None) is None
    assert versions("*") is None
    assert versions(f'"zz", {tag}') == [MOMENT]
    assert versions(f"W/{tag}") == []
    assert versions('"ffffffffffffffffffff.0"') == []


def test_if_none_match() -> None:
    tag = content_etag(b"{}")
    assert none_match(None, tag)
    assert not none_match(tag, tag)
    assert not none_match(f'"a", W/{tag}', tag)
    assert not none_match("*", tag)
    assert none_match('"a"', tag)
