"""The RealWorld bodies: a listed article made straight from a blog's fields, and its times."""

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service.api.realworld.models import LISTED_ARTICLES
from service.models import Blog, Profile


def _blog(**changes: object) -> Blog:
    fields: dict[str, object] = {
        "id": 7,
        "slug": "hello-7",
        "title": "Hello",
        "description": "d",
        "body": "b",
        "tags": ["a", "b"],
        "created_at": datetime(2026, 11, 26, 14, 38, 36, 123456, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 27, 9, 0, 0, 5, tzinfo=UTC),
        "favorites_count": 3,
        "favorited": True,
        "owner": Profile(
            id=2,
            name="Ada",
            username="ada",
            bio=None,
            image="https://x.example/a.png",
            following=True,
        ),
    }
    return Blog.model_validate(fields | changes)


def test_a_listed_article_is_made_from_a_blogs_fields_as_the_data_functions_name_them() -> None:
    [article] = LISTED_ARTICLES.validate_python([_blog().model_dump()])
    [listed] = json.loads(LISTED_ARTICLES.dump_json([article]))
    # The spec's fields in the spec's order: no id, no body, no owner's id or name.
    assert list(listed.items()) == [
        ("slug", "hello-7"),
        ("title", "Hello"),
        ("description", "d"),
        ("tagList", ["a", "b"]),
        ("createdAt", "2026-11-26T14:38:36.123456Z"),
        ("updatedAt", "2026-11-27T09:00:00.000005Z"),
        ("favorited", True),
        ("favoritesCount", 3),
        (
            "author",
            {"username": "ada", "bio": None, "image": "https://x.example/a.png", "following": True},
        ),
    ]
    assert list(listed["author"]) == ["username", "bio", "image", "following"]


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 11, 26, 14, 38, 36, 123456, tzinfo=UTC), "2026-11-26T14:38:36.123456Z"),
        # Whole seconds keep their six zeros (pydantic's own format would drop them).
        (datetime(2026, 11, 26, 14, 38, 36, tzinfo=UTC), "2026-11-26T14:38:36.000000Z"),
        (datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "0999-01-02T03:04:05.000006Z"),
        # Another offset, or UTC as another object, is shown in UTC.
        (
            datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:30:00.000000Z",
        ),
        (
            datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris")),
            "2026-07-01T10:00:00.000000Z",
        ),
        (datetime(2026, 7, 1, 12, 0, 1, 10, tzinfo=ZoneInfo("UTC")), "2026-07-01T12:00:01.000010Z"),
    ],
)
def test_times_are_utc_with_microseconds_and_z(moment: datetime, shown: str) -> None:
    [listed] = json.loads(
        LISTED_ARTICLES.dump_json(
            LISTED_ARTICLES.validate_python(
                [_blog(created_at=moment, updated_at=moment).model_dump()]
            )
        )
    )
    assert listed["createdAt"] == listed["updatedAt"] == shown
