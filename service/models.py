"""Request and response bodies."""

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# A list shows each blog's body up to this many characters, and GET /blogs/{id} shows it whole,
# so a page's size is bounded whatever its blogs hold (sql/queries: the list card's excerpt).
BODY_EXCERPT = 1_000
# Ids are PostgreSQL bigints.
MAX_ID = 2**63 - 1
# How many users one user may follow; sql/queries/follow.sql checks it (and says how far
# follows made at the same moment can pass it).
MAX_FOLLOWS = 1000

# PostgreSQL text cannot hold NUL characters; refuse them up front with a 422.
NO_NUL = r"^[^\x00]*$"
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+$"
USERNAME_PATTERN = r"^[A-Za-z0-9_-]+$"
IMAGE_URL_PATTERN = r"^https?://[^\s\x00]+$"
TAG_PATTERN = r"^[^,\x00-\x1f\x7f-\x9f]+$"
# What a 422 says a value that does not match a pattern should be, instead of the pattern.
PATTERN_RULES = {
    NO_NUL: "must not contain a NUL character (\\u0000)",
    EMAIL_PATTERN: "should be an email address such as ada@example.com: one '@', no spaces",
    USERNAME_PATTERN: "should have only letters (A-Z, a-z), digits, '_' and '-'",
    IMAGE_URL_PATTERN: "should be an http:// or https:// URL without spaces",
    TAG_PATTERN: "should have no comma and no control character",
}


# What `strip_whitespace` trims (Unicode White_Space), and so what sql/maintenance/data_fix.sql
# trims too. Python's own str.strip() would also trim \x1c-\x1f.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


MAX_EMAIL_LENGTH = 254


def normalize_email(email: str) -> str:
    """Emails are kept trimmed and lower-cased; compare them only in this form."""
    return email.strip(WHITESPACE).lower()


def _normalized_email(email: str) -> str:
    """The email as stored, within the length limit in that form too: lower-casing can lengthen
    a string (`İ` becomes two characters), and a model built again from it must not fail."""
    normalized = normalize_email(email)
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise ValueError(f"must be at most {MAX_EMAIL_LENGTH} characters once lower-cased")
    return normalized


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=EMAIL_PATTERN),
    AfterValidator(_normalized_email),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# Any stored password fits these bounds; the upper one keeps a hostile value from costing more.
CurrentPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=128), Field(description="The password now.")
]
# Fields whose input a 422 never echoes back.
SECRET_FIELDS = frozenset({"password", "current_password", "token", "access_token"})
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NO_NUL)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=NO_NUL)
]
# A chosen username has no '.': the usernames derived for users who chose none (name.id, see
# sql/migrations/0009_platform.sql) have one, so no one can take another's.
Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=USERNAME_PATTERN),
]
Bio = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)]
ImageUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=IMAGE_URL_PATTERN)
]
# Tags are kept as written (trimmed); a comma or a control character (C0 or C1, what
# PostgreSQL's [[:cntrl:]] matches) is never part of one.
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=TAG_PATTERN),
]
MAX_TAGS = 10
CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000, pattern=NO_NUL)
]


def _distinct(tags: list[str]) -> list[str]:
    """Each tag once, in the order first given."""
    return list(dict.fromkeys(tags))


Tags = Annotated[
    list[Tag],
    Field(max_length=MAX_TAGS, description=f"At most {MAX_TAGS}; repeats are kept once."),
    AfterValidator(_distinct),
]


# An object with more unknown fields than this is refused as a whole, in one error, before its
# fields are looked at: 80,000 unknown keys would otherwise cost seconds of CPU for a list of
# 80,000 errors.
MAX_UNKNOWN_FIELDS = 20


def few_unknown_fields(model: type[BaseModel], data: object) -> object:
    """`data`, unless it is an object with more than MAX_UNKNOWN_FIELDS unknown fields."""
    if isinstance(data, dict) and len(data) > len(model.model_fields) + MAX_UNKNOWN_FIELDS:
        unknown = len(data.keys() - model.model_fields.keys())
        raise ValueError(
            f"{unknown} unknown fields; send only these: {', '.join(model.model_fields)}"
        )
    return data


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: object) -> object:
        return few_unknown_fields(cls, data)


class UserCreate(Input):
    name: Name
    email: Email = Field(description="Stored trimmed and lower-cased; unique in any letter case.")
    password: Password
    username: Username | None = Field(
        default=None,
        description=(
            "Letters, digits, '_' and '-'; unique in any letter case. Without one, the user "
            "gets `<name as a slug>.<id>`."
        ),
    )


class UserUpdate(Input):
    """Send only the fields to change; a field that is sent must be valid (`null` is not, except
    for `bio` and `image`, which it clears). Changing the email or the password needs
    `current_password`."""

    name: Name = Field(default=None)  # type: ignore[assignment]
    email: Email = Field(  # type: ignore[assignment]
        default=None, description="Stored trimmed and lower-cased; unique in any letter case."
    )
    password: Password = Field(  # type: ignore[assignment]
        default=None, description="The new password; every token made before it stops working."
    )
    username: Username = Field(  # type: ignore[assignment]
        default=None,
        description="Letters, digits, '_' and '-'; unique in any letter case.",
    )
    bio: Bio | None = Field(default=None, description="`null` clears it.")
    image: ImageUrl | None = Field(default=None, description="An http(s) URL; `null` clears it.")
    current_password: CurrentPassword | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.model_fields_set - {"current_password"}:
            raise ValueError("send at least one of: name, email, password, username, bio, image")
        if self.model_fields_set & {"email", "password"} and self.current_password is None:
            raise ValueError("current_password is required to change the email or password")
        return self


class UserDelete(Input):
    current_password: CurrentPassword


class BlogCreate(Input):
    title: Title
    body: Body
    description: Description = ""
    tags: Tags = []


class BlogUpdate(Input):
    """Send only the fields to change; a field that is sent must be valid (`null` is not).
    `tags` replaces the blog's tags."""

    title: Title = Field(default=None)  # type: ignore[assignment]
    body: Body = Field(default=None)  # type: ignore[assignment]
    description: Description = Field(default=None)  # type: ignore[assignment]
    tags: Tags = Field(default=None)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one of: title, body, description, tags")
        return self


class CommentCreate(Input):
    body: CommentBody


class UserPublic(BaseModel):
    """A user as anyone may see them."""

    id: int
    name: str
    username: str
    bio: str | None
    image: str | None
    created_at: datetime
    following: bool = Field(description="Whether the signed-in reader follows them.")


class User(BaseModel):
    """A user as they see themselves."""

    id: int
    name: str
    username: str
    bio: str | None
    image: str | None
    email: str
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class Profile(BaseModel):
    """A user as shown beside what they wrote."""

    id: int
    name: str
    username: str
    bio: str | None
    image: str | None
    following: bool = Field(description="Whether the signed-in reader follows them.")


class Blog(BaseModel):
    id: int
    slug: str = Field(description="Made once from the title and id; kept when the title changes.")
    title: str
    description: str
    body: str = Field(
        description=f"Whole in a single read; in a list, its first {BODY_EXCERPT:,} characters."
    )
    tags: list[str] = Field(description="Sorted.")
    created_at: datetime
    updated_at: datetime
    favorites_count: int
    favorited: bool = Field(description="Whether the signed-in reader has made it a favorite.")
    owner: Profile


class Comment(BaseModel):
    id: int
    body: str
    created_at: datetime
    updated_at: datetime
    author: Profile


class CommentPage(BaseModel):
    items: list[Comment]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class TagCount(BaseModel):
    name: str
    blogs: int = Field(description="How many blogs carry it.")


class TagList(BaseModel):
    items: list[TagCount] = Field(description="Most used first.")


class BlogPage(BaseModel):
    items: list[Blog]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    databases: dict[str, str] = Field(
        description="`primary`: ok, read_only (it answers but takes no writes: a failover is "
        "under way) or down; each replica (`replica-1`, ...): ok, lagging, down or promoted "
        "(it became a primary and is still read from)."
    )
    primary: str | None = Field(
        description="The `host:port` of the server writes go to now; null when none answers."
    )
    writable: bool = Field(description="Whether the service can write now.")
