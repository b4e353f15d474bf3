from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def split_page(rows: Sequence[T], limit: int) -> tuple[Sequence[T], T | None]:
    """A page of `limit` rows fetched as `limit + 1`: the page, and its last row if more follow."""
    page = rows[:limit]
    return page, (page[-1] if len(rows) > limit else None)
