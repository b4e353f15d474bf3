from datetime import UTC, datetime

from service.api.etags import blog_etag, content_etag, none_match, versions
from service.models import Blog, Owner

MOMENT = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
BLOG = Blog(
    id=1, title="t", body="b", created_at=MOMENT, updated_at=MOMENT, owner=Owner(id=2, name="Ada")
)


def test_a_blog_s_etag_names_its_version() -> None:
    assert versions(blog_etag(BLOG)) == [MOMENT]


def test_the_owner_s_name_is_part_of_the_tag() -> None:
    renamed = BLOG.model_copy(update={"owner": Owner(id=2, name="Bea")})
    assert blog_etag(renamed) != blog_etag(BLOG)
    assert versions(blog_etag(renamed)) == [MOMENT]


def test_if_match_lists_and_wildcards() -> None:
    tag = blog_etag(BLOG)
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
