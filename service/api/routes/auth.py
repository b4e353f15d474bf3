from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from service import users
from service.api.dependencies import DbDep, LoginLimiterDep, SettingsDep
from service.api.openapi import responses
from service.errors import AuthenticationFailed
from service.models import Token
from service.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    responses=responses(400, 401, 413, 429),
    summary="Log in",
    description=(
        "Exchange an email (as `username`) and password, sent as an OAuth2 password form, for a "
        "bearer token. A wrong email and a wrong password get the same 401 in about the same time. "
        "Repeated failures for one account or from one address get 429 with `Retry-After`."
    ),
)
async def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    limiter: LoginLimiterDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    account = form.username.strip().lower()
    address = request.client.host if request.client else "unknown"
    limiter.check(account=account, address=address)
    try:
        user_id = await users.authenticate(db=db, email=account, password=form.password)
    except AuthenticationFailed:
        limiter.failed(account=account, address=address)
        raise
    limiter.succeeded(account=account, address=address)
    token = create_access_token(
        user_id=user_id,
        secret=settings.token_secret,
        expires_in=timedelta(minutes=settings.token_expire_minutes),
    )
    return Token(access_token=token)
