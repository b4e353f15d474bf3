"""The RealWorld API's request and response bodies: envelopes (`{"user": ...}`,
`{"article": ...}`, ...) in camelCase, built from the native models (a listed article straight
from a blog's fields)."""

from datetime import UTC, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, TypeAdapter, model_validator

from service import models
from service.models import (
    Bio,
    Body,
    CurrentPassword,
    Description,
    Email,
    ImageUrl,
    Password,
    Tags,
    Title,
    Username,
    few_unknown_fields,
)


def _timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and `Z`, as the spec's clients parse it."""
    # Two per listed article, each called from pydantic's serializer: the fields formatted with
    # `%` take half the instructions of astimezone, replace and isoformat (or of strftime).
    # PostgreSQL's times come in UTC already, so they skip the conversion.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 - the fastest here
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


Timestamp = Annotated[datetime, PlainSerializer(_timestamp, return_type=str)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: object) -> object:
        return few_unknown_fields(cls, data)


# --- users -------------------------------------------------------------------------------------


class NewUser(Input):
    username: Username
    email: Email
    password: Password


class NewUserRequest(Input):
    user: NewUser


class LoginUser(Input):
    # Any stored email and password fit these bounds; the upper ones keep a hostile value cheap.
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class LoginUserRequest(Input):
    user: LoginUser


def _empty_is_none(value: object) -> object:
    return None if value == "" else value


class UpdateUser(Input):
    """Send only what changes. `bio` and `image` are cleared by `null` or `""`. A new email or
    password needs `current_password` (the email as it already is needs nothing)."""

    email: Email = Field(default=None)  # type: ignore[assignment]
    password: Password = Field(default=None)  # type: ignore[assignment]
    username: Username = Field(default=None)  # type: ignore[assignment]
    bio: Bio | None = Field(default=None, description='`null` or `""` clears it.')
    image: ImageUrl | None = Field(default=None, description='`null` or `""` clears it.')
    current_password: CurrentPassword | None = Field(
        default=None, description="Needed to change the email or the password (not in the spec)."
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_clears(cls, data: object) -> object:
        if isinstance(data, dict):
            return {
                key: _empty_is_none(value) if key in ("bio", "image") else value
                for key, value in data.items()
            }
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set - {"current_password"}:
            raise ValueError("send at least one of: email, password, username, bio, image")
        return self


class UpdateUserRequest(Input):
    user: UpdateUser


class User(BaseModel):
    email: str
    token: str
    username: str
    bio: str | None
    image: str | None


class UserResponse(BaseModel):
    user: User


def user_response(user: models.User, token: str) -> UserResponse:
    return UserResponse(
        user=User(
            email=user.email, token=token, username=user.username, bio=user.bio, image=user.image
        )
    )


# --- profiles ----------------------------------------------------------------------------------


class Profile(BaseModel):
    username: str
    bio: str | None
    image: str | None
    following: bool


class ProfileResponse(BaseModel):
    profile: Profile


def profile(user: models.Profile | models.UserPublic) -> Profile:
    return Profile(username=user.username, bio=user.bio, image=user.image, following=user.following)


# --- articles ----------------------------------------------------------------------------------


class NewArticle(Input):
    title: Title
    description: Description
    body: Body
    tagList: Tags = []


class NewArticleRequest(Input):
    article: NewArticle


class UpdateArticle(Input):
    """Send only what changes; `tagList` (not in the spec's update) replaces the tags."""

    title: Title = Field(default=None)  # type: ignore[assignment]
    description: Description = Field(default=None)  # type: ignore[assignment]
    body: Body = Field(default=None)  # type: ignore[assignment]
    tagList: Tags = Field(default=None)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one of: title, description, body, tagList")
        return self

    def as_blog_update(self) -> models.BlogUpdate:
        names = {"title": "title", "description": "description", "body": "body", "tagList": "tags"}
        return models.BlogUpdate.model_validate(
            {names[field]: getattr(self, field) for field in self.model_fields_set}
        )


class UpdateArticleRequest(Input):
    article: UpdateArticle


# Validated straight from a blog's fields as the data functions name them (`tags`, `created_at`,
# `owner`, ...: the validation aliases), so a page of them is validated once, in pydantic's core,
# with no native `Blog` in between (`LISTED_ARTICLES`). The aliases only read: the JSON and the
# schema keep the field names.
class ListedArticle(BaseModel):
    """An article in a list: as the spec has it since 1.1.0 (2024-08-16), without its `body`."""

    slug: str
    title: str
    description: str
    tagList: list[str] = Field(validation_alias="tags", description="Sorted.")
    createdAt: Timestamp = Field(validation_alias="created_at")
    updatedAt: Timestamp = Field(validation_alias="updated_at")
    favorited: bool
    favoritesCount: int = Field(validation_alias="favorites_count")
    author: Profile = Field(validation_alias="owner")


LISTED_ARTICLES = TypeAdapter(list[ListedArticle])


class Article(BaseModel):
    slug: str
    title: str
    description: str
    body: str
    tagList: list[str] = Field(description="Sorted.")
    createdAt: Timestamp
    updatedAt: Timestamp
    favorited: bool
    favoritesCount: int
    author: Profile


class ArticleResponse(BaseModel):
    article: Article


class MultipleArticlesResponse(BaseModel):
    articles: list[ListedArticle] = Field(
        description="Newest first, without `body` (GET /api/articles/{slug} has it)."
    )
    articlesCount: int = Field(
        description="How many articles match: exact for all articles or one filter (`author`, "
        "`tag` or `favorited`), read from counters kept by the database; for combined filters "
        "exact up to 10,000 and 10,000 beyond; for the feed exact up to 1,000 and 1,000 beyond."
    )


def article(blog: models.Blog) -> Article:
    return Article(
        slug=blog.slug,
        title=blog.title,
        description=blog.description,
        body=blog.body,
        tagList=blog.tags,
        createdAt=blog.created_at,
        updatedAt=blog.updated_at,
        favorited=blog.favorited,
        favoritesCount=blog.favorites_count,
        author=profile(blog.owner),
    )


# --- comments and tags -------------------------------------------------------------------------


class NewCommentRequest(Input):
    comment: models.CommentCreate


class Comment(BaseModel):
    id: int
    createdAt: Timestamp
    updatedAt: Timestamp
    body: str
    author: Profile


class CommentResponse(BaseModel):
    comment: Comment


class MultipleCommentsResponse(BaseModel):
    comments: list[Comment]


def comment(item: models.Comment) -> Comment:
    return Comment(
        id=item.id,
        createdAt=item.created_at,
        updatedAt=item.updated_at,
        body=item.body,
        author=profile(item.author),
    )


class TagsResponse(BaseModel):
    tags: list[str] = Field(description="The most used first.")


class GenericErrors(BaseModel):
    body: list[str]


class GenericErrorModel(BaseModel):
    errors: GenericErrors
