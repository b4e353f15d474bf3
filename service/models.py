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
# Ids are PostgreSQL bigints.
MAX_ID = 2**63 - 1

# PostgreSQL text cannot hold NUL characters; refuse them up front with a 422.
_NO_NUL = r"^[^\x00]*$"


# What `strip_whitespace` trims (Unicode White_Space), and so what sql/maintenance/data_fix.sql
# trims too. Python's own str.strip() would also trim \x1c-\x1f.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def normalize_email(email: str) -> str:
    """Emails are kept trimmed and lower-cased; compare them only in this form."""
    return email.strip(WHITESPACE).lower()


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_NUL)
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$"
    ),
    AfterValidator(normalize_email),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# Any stored password fits these bounds; the upper one keeps a hostile value from costing more.
CurrentPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=128), Field(description="The password now.")
]
# Fields whose input a 422 never echoes back.
SECRET_FIELDS = frozenset({"password", "current_password"})
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_NUL)
]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=_NO_NUL)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(Input):
    name: Name
    email: Email = Field(description="Stored trimmed and lower-cased; unique in any letter case.")
    password: Password


class UserUpdate(Input):
    """Send only the fields to change; a field that is sent must be valid (`null` is not).
    Changing the email or the password needs `current_password`."""

    name: Name = Field(default=None)  # type: ignore[assignment]
    email: Email = Field(  # type: ignore[assignment]
        default=None, description="Stored trimmed and lower-cased; unique in any letter case."
    )
    password: Password = Field(  # type: ignore[assignment]
        default=None, description="The new password; every token made before it stops working."
    )
    current_password: CurrentPassword | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.model_fields_set - {"current_password"}:
            raise ValueError("send at least one of: name, email, password")
        if self.model_fields_set & {"email", "password"} and self.current_password is None:
            raise ValueError("current_password is required to change the email or password")
        return self


class UserDelete(Input):
    current_password: CurrentPassword


class BlogCreate(Input):
    title: Title
    body: Body


class BlogUpdate(Input):
    """Send only the fields to change; a field that is sent must be valid (`null` is not)."""

    title: Title = Field(default=None)  # type: ignore[assignment]
    body: Body = Field(default=None)  # type: ignore[assignment]

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("send at least one of: title, body")
        return self


class UserPublic(BaseModel):
    """A user as anyone may see them."""

    id: int
    name: str
    created_at: datetime


class User(BaseModel):
    """A user as they see themselves."""

    id: int
    name: str
    email: str
    created_at: datetime


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last."
    )


class Owner(BaseModel):
    id: int
    name: str


class Blog(BaseModel):
    id: int
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    owner: Owner


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
        description="`primary` and each replica (`replica-1`, ...): ok, lagging or down."
    )
