from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from service import users
from service.deps import DbDep, SettingsDep
from service.http_errors import responses
from service.models import Token
from service.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    responses=responses(401),
    summary="Log in",
    description=(
        "Exchange an email (as `username`) and password, sent as an OAuth2 password form, for a "
        "bearer token. A wrong email and a wrong password get the same 401 in about the same time."
    ),
)
async def login(
    db: DbDep, settings: SettingsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    user_id = await users.authenticate(db=db, email=form.username, password=form.password)
    token = create_access_token(
        user_id=user_id,
        secret=settings.token_secret,
        expires_in=timedelta(minutes=settings.token_expire_minutes),
    )
    return Token(access_token=token)
