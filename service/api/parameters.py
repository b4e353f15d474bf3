"""Request parameters shared by the routes, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Header, Path, Query

from service.models import MAX_ID, MAX_PAGE_SIZE

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="A user's id.")]
BlogId = Annotated[int, Path(ge=1, le=MAX_ID, description="A blog's id.")]
CommentId = Annotated[int, Path(ge=1, le=MAX_ID, description="A comment's id.")]
AuthorId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this author's blogs.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, 1-{MAX_PAGE_SIZE}.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200, description="The `next_cursor` of the previous page; omit for the first."
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(description="ETags of copies the client holds; a match answers 304 with no body."),
]
IfMatch = Annotated[
    str | None,
    Header(
        description=(
            "Apply the edit only if the blog still has this ETag's version; otherwise 412 and "
            "nothing changes."
        )
    ),
]
SearchQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description=(
            "Full-text search over title and body, as in a web search engine: words (all must "
            'match, in any form the text search configuration folds them to), "quoted phrases", '
            "`or` between alternatives, `-word` to exclude. A search of very common words may "
            "answer a short page with a `next_cursor`: only a null `next_cursor` ends it."
        ),
    ),
]
TagFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        pattern=r"^[^,\x00-\x1f\x7f-\x9f]+$",
        description="Only blogs carrying this tag, as written. Not with `author_id` or `q`.",
    ),
]
TagLimit = Annotated[
    int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"How many tags, 1-{MAX_PAGE_SIZE}.")
]
