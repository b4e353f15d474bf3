import pytest

from service.pages import split_page


@pytest.mark.parametrize(
    ("rows", "limit", "page", "last"),
    [
        ([], 3, [], None),
        ([1, 2], 3, [1, 2], None),
        ([1, 2, 3], 3, [1, 2, 3], None),
        # limit + 1 rows fetched: more follow, and the page ends at its last row.
        ([1, 2, 3, 4], 3, [1, 2, 3], 3),
        ([1, 2], 1, [1], 1),
    ],
)
def test_a_page_and_where_the_next_one_starts(
    rows: list[int], limit: int, page: list[int], last: int | None
) -> None:
    assert split_page(rows, limit) == (page, last)
