"""Articles: lists with offsets and counts, the feed, one article, writing, favorites.

An article is a blog (service.blogs) found by its slug. Lists are offset pages, as the spec has
them (without `body` since spec 1.1.0), with bounds the spec leaves open: `limit` 1-100,
`offset` up to 10,000 (1,000 in the feed), and `articlesCount` exact for all articles or one
filter (from counters the database keeps), exact up to 10,000 for combined filters (1,000 in the
feed) and that cap beyond it; each list is one statement that walks one index
(sql/queries/articles_*.sql)."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AfterValidator

from service import blogs
from service.api.dependencies import DbDep
from service.api.realworld.dependencies import (
    CountedWrite,
    CurrentReader,
    CurrentUser,
    Reader,
    SignedInReader,
)
from service.api.realworld.models import (
    LISTED_ARTICLES,
    ArticleResponse,
    ListedArticle,
    MultipleArticlesResponse,
    NewArticleRequest,
    UpdateArticleRequest,
    article,
)
from service.api.realworld.openapi import errors
from service.errors import Conflict, NotFound
from service.models import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, BlogCreate

router = APIRouter(prefix="/api/articles", tags=["RealWorld: articles"])

Slug = Annotated[str, Path(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"How many, 1-{MAX_PAGE_SIZE}.")]


def _offset_within(ceiling: int, advice: str) -> Callable[[int], int]:
    def check(value: int) -> int:
        if value > ceiling:
            raise ValueError(f"offset goes up to {ceiling:,}, {advice}")
        return value

    return check


# The ceiling keeps a page's cost bounded: an offset page walks `offset + limit` index entries.
Offset = Annotated[
    int,
    Query(ge=0, description=f"How many to skip, 0-{blogs.MAX_OFFSET:,}."),
    AfterValidator(
        _offset_within(
            blogs.MAX_OFFSET,
            "since a deeper page would read every article before it: narrow the list with "
            "`tag`, `author` or `favorited` to page further",
        )
    ),
]
FeedOffset = Annotated[
    int,
    Query(ge=0, description=f"How many to skip, 0-{blogs.FEED_MAX_OFFSET:,}."),
    AfterValidator(
        _offset_within(
            blogs.FEED_MAX_OFFSET,
            "since the feed reads at most that many of each followed author's newest articles",
        )
    ),
]
UsernameFilter = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
TagFilter = Annotated[
    str | None,
    Query(
        min_length=1, max_length=40, pattern=r"^[^,\x00-\x1f\x7f-\x9f]+$", description="As written."
    ),
]


def _articles(page: blogs.OffsetPage[ListedArticle]) -> MultipleArticlesResponse:
    return MultipleArticlesResponse(articles=page.items, articlesCount=page.count)


@router.get(
    "",
    response_model=MultipleArticlesResponse,
    responses=errors(401),
    summary="List articles",
    description=(
        "Newest first: all, or by `author`, carrying `tag`, favorited by `favorited` (usernames "
        "in any letter case), in any combination; each without `body` (as the spec has it since "
        "1.1.0). `articlesCount` is exact for all articles or one filter; for combined filters "
        f"exact up to {blogs.COUNT_CAP:,} and {blogs.COUNT_CAP:,} beyond. `offset` goes up to "
        f"{blogs.MAX_OFFSET:,}. With a token, `favorited` and `author.following` are the caller's."
    ),
)
async def list_articles(
    db: DbDep,
    reader: Reader,
    tag: TagFilter = None,
    author: UsernameFilter = None,
    favorited: UsernameFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> MultipleArticlesResponse:
    page = await blogs.list_blogs_by_offset(
        db=db,
        items=LISTED_ARTICLES,
        limit=limit,
        offset=offset,
        author=author,
        tag=tag,
        favorited=favorited,
        reader=reader,
    )
    return _articles(page)


@router.get(
    "/feed",
    response_model=MultipleArticlesResponse,
    responses=errors(401),
    summary="The caller's feed",
    description=(
        "Articles by the users the caller follows, newest first, without `body`. `articlesCount` "
        f"is exact up to {blogs.FEED_COUNT_CAP:,} and {blogs.FEED_COUNT_CAP:,} beyond."
    ),
)
async def feed(
    db: DbDep, reader: SignedInReader, limit: Limit = DEFAULT_PAGE_SIZE, offset: FeedOffset = 0
) -> MultipleArticlesResponse:
    page = await blogs.feed_by_offset(
        db=db, items=LISTED_ARTICLES, reader=reader, limit=limit, offset=offset
    )
    return _articles(page)


@router.get(
    "/{slug}",
    response_model=ArticleResponse,
    responses=errors(401, 404),
    summary="An article",
)
async def get_article(db: DbDep, reader: Reader, slug: Slug) -> ArticleResponse:
    return ArticleResponse(
        article=article(await blogs.get_blog_by_slug(db=db, slug=slug, reader=reader))
    )


@router.post(
    "",
    dependencies=[CountedWrite],
    status_code=status.HTTP_201_CREATED,
    response_model=ArticleResponse,
    responses=errors(400, 401, 413, 429),
    summary="Create an article",
    description=(
        "`title`, `description`, `body` and up to 10 tags in `tagList` (trimmed, repeats once). "
        "The slug is made from the title and the article's id, and kept when the title changes."
    ),
)
async def create_article(db: DbDep, user: CurrentUser, data: NewArticleRequest) -> ArticleResponse:
    new = data.article
    blog = await blogs.create_blog(
        db=db,
        owner=user,
        data=BlogCreate(
            title=new.title, body=new.body, description=new.description, tags=new.tagList
        ),
    )
    return ArticleResponse(article=article(blog))


@router.put(
    "/{slug}",
    dependencies=[CountedWrite],
    response_model=ArticleResponse,
    responses=errors(400, 401, 403, 404, 413, 429),
    summary="Update an article",
    description=(
        "Send only what changes: `title`, `description`, `body`, or `tagList` (replaces the "
        "tags). The author only (403 otherwise). The slug stays."
    ),
)
async def update_article(
    db: DbDep, user: CurrentUser, slug: Slug, data: UpdateArticleRequest
) -> ArticleResponse:
    found = await blogs.get_blog_by_slug(db=db, slug=slug)
    blog = await blogs.update_blog(
        db=db, blog_id=found.id, user_id=user.id, data=data.article.as_blog_update()
    )
    return ArticleResponse(article=article(blog))


@router.delete(
    "/{slug}",
    dependencies=[CountedWrite],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(401, 403, 404, 429),
    summary="Delete an article",
    description="The author only (403 otherwise). 204, as the spec has it since 1.1.0.",
)
async def delete_article(db: DbDep, user: CurrentUser, slug: Slug) -> Response:
    found = await blogs.get_blog_by_slug(db=db, slug=slug)
    await blogs.delete_blog(db=db, blog_id=found.id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{slug}/favorite",
    dependencies=[CountedWrite],
    response_model=ArticleResponse,
    responses=errors(401, 404, 429),
    summary="Favorite an article",
    description="Answers the article, `favorited` true, also when it already was.",
)
async def favorite(db: DbDep, reader: CurrentReader, slug: Slug) -> ArticleResponse:
    found = await blogs.get_blog_by_slug(db=db, slug=slug, reader=reader)
    try:
        blog = await blogs.favorite(db=db, reader=reader, blog_id=found.id)
    except Conflict:  # already a favorite: as it is
        blog = await blogs.get_blog(db=db, blog_id=found.id, reader=reader)
    return ArticleResponse(article=article(blog))


@router.delete(
    "/{slug}/favorite",
    dependencies=[CountedWrite],
    response_model=ArticleResponse,
    responses=errors(401, 404, 429),
    summary="Unfavorite an article",
    description="Answers the article, `favorited` false, also when it was not a favorite.",
)
async def unfavorite(db: DbDep, reader: CurrentReader, slug: Slug) -> ArticleResponse:
    found = await blogs.get_blog_by_slug(db=db, slug=slug, reader=reader)
    try:
        blog = await blogs.unfavorite(db=db, reader=reader, blog_id=found.id)
    except NotFound:  # not a favorite (or deleted meanwhile: then this is a 404 too)
        blog = await blogs.get_blog(db=db, blog_id=found.id, reader=reader)
    return ArticleResponse(article=article(blog))
