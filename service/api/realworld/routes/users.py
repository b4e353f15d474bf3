"""POST /api/users, POST /api/users/login, GET and PUT /api/user."""

from fastapi import APIRouter, status

from service import users
from service.api.dependencies import (
    ClientAddress,
    DbDep,
    HasherDep,
    PasswordGuardDep,
    SignupLimitsDep,
    TokensDep,
)
from service.api.realworld.dependencies import CurrentUser, SignedInReader, SignedInToken
from service.api.realworld.models import (
    LoginUserRequest,
    NewUserRequest,
    UpdateUserRequest,
    UserResponse,
    user_response,
)
from service.api.realworld.openapi import errors
from service.errors import InvalidValue
from service.models import UserCreate, UserUpdate

router = APIRouter(prefix="/api", tags=["RealWorld: users"])

# The route names service.api.app refuses known abusers on early.
SIGN_UP = "api_sign_up"
LOG_IN = "api_log_in"


@router.post(
    "/users",
    name=SIGN_UP,
    status_code=status.HTTP_201_CREATED,
    response_model=UserResponse,
    responses=errors(400, 413, 429),
    summary="Register",
    description=(
        "Create a user from `username`, `email` and `password`; the answer carries a token. "
        "422 when the username or email is taken in any letter case. Sign-ups per address are "
        "limited as on POST /users (429)."
    ),
)
async def register(
    db: DbDep,
    hasher: HasherDep,
    tokens: TokensDep,
    signup_limits: SignupLimitsDep,
    address: ClientAddress,
    data: NewUserRequest,
) -> UserResponse:
    new = data.user
    user = await users.sign_up(
        db=db,
        hasher=hasher,
        limits=signup_limits,
        address=address,
        data=UserCreate(
            name=new.username, email=new.email, password=new.password, username=new.username
        ),
    )
    # A new user's token version is 0 (the column's default).
    return user_response(user, tokens.encode(user_id=user.id, version=0))


@router.post(
    "/users/login",
    name=LOG_IN,
    response_model=UserResponse,
    responses=errors(400, 401, 413, 429),
    summary="Log in",
    description=(
        "Exchange an email and password for the user and a token. 401 for a wrong email or "
        "password alike; the login limits of POST /auth/token apply (429)."
    ),
)
async def login(
    db: DbDep,
    hasher: HasherDep,
    tokens: TokensDep,
    guard: PasswordGuardDep,
    data: LoginUserRequest,
) -> UserResponse:
    claims = await users.log_in(
        db=db, hasher=hasher, email=data.user.email, password=data.user.password, guard=guard
    )
    user = await users.get_token_user(db=db, claims=claims)
    return user_response(user, tokens.encode(user_id=claims.user_id, version=claims.version))


@router.get(
    "/user",
    response_model=UserResponse,
    responses=errors(401),
    summary="The current user",
    description="The caller's account, with the token they sent.",
)
async def current_user(user: CurrentUser, token: SignedInToken) -> UserResponse:
    return user_response(user, token)


@router.put(
    "/user",
    response_model=UserResponse,
    responses=errors(400, 401, 403, 413, 429),
    summary="Update the current user",
    description=(
        "Send only what changes: `email`, `password`, `username`, `bio`, `image` (`null` or "
        '`""` clears the last two). The email as it already is changes nothing and needs '
        "nothing; a new email or password needs `current_password` too (422 without it, 403 "
        "when wrong, 429 past the login limits it counts against), as on PATCH /users/me. A new "
        "password ends every older token: the answer "
        "carries a new one."
    ),
)
async def update_current_user(
    db: DbDep,
    hasher: HasherDep,
    tokens: TokensDep,
    guard: PasswordGuardDep,
    reader: SignedInReader,
    user: CurrentUser,
    token: SignedInToken,
    data: UpdateUserRequest,
) -> UserResponse:
    change = data.user
    fields = set(change.model_fields_set) - {"current_password"}
    if "email" in fields and change.email == user.email:
        fields.discard("email")  # the email as it is: nothing to change, nothing to prove
    if fields & {"email", "password"} and change.current_password is None:
        field = "password" if "password" in fields else "email"
        raise InvalidValue(
            f"current_password is required to change the {field}; send it in the user object",
            field="current_password",
        )
    if not fields:
        return user_response(user, token)
    update = UserUpdate.model_validate(
        {field: getattr(change, field) for field in fields}
        | ({"current_password": change.current_password} if fields & {"email", "password"} else {})
    )
    updated = await users.update_user(
        db=db, hasher=hasher, user_id=user.id, data=update, guard=guard
    )
    if "password" in fields:
        # The update moved the token version on by one from the one this token carries (it
        # applies only while the password checked is still the stored one).
        token = tokens.encode(user_id=updated.id, version=reader.version + 1)
    return user_response(updated, token)
