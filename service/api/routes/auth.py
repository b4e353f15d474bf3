from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError

from service import users
from service.api.dependencies import DbDep, HasherDep, PasswordGuardDep, TokensDep
from service.api.openapi import responses
from service.models import Token

router = APIRouter(prefix="/auth", tags=["auth"])

LOG_IN = "log_in"
"""The login route's name (service.api.app refuses known abusers on it early)."""


@dataclass(frozen=True)
class LoginForm:
    username: str
    password: str


async def login_form(
    username: Annotated[str, Form(min_length=1, max_length=320, description="The email.")],
    password: Annotated[str, Form(min_length=1, max_length=128)],
) -> LoginForm:
    """The OAuth2 password form's two fields, bounded. (FastAPI's OAuth2PasswordRequestForm is a
    class, which FastAPI builds in a worker thread: a thread hop on every login attempt.)"""
    return LoginForm(username=username, password=password)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_EXPECTED = (
    "this endpoint takes a form, not JSON: send `username` (the email) and `password` with "
    "Content-Type: application/x-www-form-urlencoded"
)


async def takes_a_form(request: Request) -> None:
    """A 422 that says a form is expected for a body of any other type (JSON, most often),
    instead of a `Field required` for each of the form's fields."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(_FORMS):
        raise RequestValidationError(
            [{"type": "form_expected", "loc": ["body"], "msg": FORM_EXPECTED}]
        )


@router.post(
    "/token",
    name=LOG_IN,
    dependencies=[Depends(takes_a_form)],
    response_model=Token,
    responses=responses(400, 401, 413, 429),
    summary="Log in",
    description=(
        "Exchange an email (as `username`) and password, sent as an OAuth2 password form, for a "
        "bearer token (JSON, or any other body that is not a form, is a 422 that says so). "
        "A wrong email and a wrong password get the same 401 in about the same time. "
        "Every attempt counts against limits for the account from this address, the account and "
        "the address, before the password is checked; past one, 429 with `Retry-After`. A right "
        "password takes its attempt back. 503 with `Retry-After` when every password check slot "
        "is busy."
    ),
)
async def login(
    db: DbDep,
    hasher: HasherDep,
    tokens: TokensDep,
    guard: PasswordGuardDep,
    form: Annotated[LoginForm, Depends(login_form)],
) -> Token:
    claims = await users.log_in(
        db=db, hasher=hasher, email=form.username, password=form.password, guard=guard
    )
    return Token(access_token=tokens.encode(user_id=claims.user_id, version=claims.version))
