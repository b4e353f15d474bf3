from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from service import limits, users
from service.api.dependencies import ClientAddress, DbDep, HasherDep, LoginLimitsDep, TokensDep
from service.api.openapi import responses
from service.models import Token, normalize_email

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    responses=responses(400, 401, 413, 429),
    summary="Log in",
    description=(
        "Exchange an email (as `username`) and password, sent as an OAuth2 password form, for a "
        "bearer token. A wrong email and a wrong password get the same 401 in about the same time. "
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
    login_limits: LoginLimitsDep,
    address: ClientAddress,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    account = normalize_email(form.username)
    attempts = login_limits.attempts(account=account, address=address)
    await limits.count(db=db, attempts=attempts, message="too many failed logins; try again later")
    claims = await users.authenticate(db=db, hasher=hasher, email=account, password=form.password)
    await limits.forgive(db=db, attempts=attempts[1:], cleared=attempts[:1])
    return Token(access_token=tokens.encode(user_id=claims.user_id, version=claims.version))
