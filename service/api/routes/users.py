from fastapi import APIRouter, Response, status

from service import blogs, follows, users
from service.api import etags
from service.api.dependencies import (
    ClientAddress,
    CountedWrite,
    CurrentUser,
    CursorsDep,
    DbDep,
    HasherDep,
    PasswordGuardDep,
    Reader,
    SignedInReader,
    SignupLimitsDep,
)
from service.api.openapi import CREATED, NOT_MODIFIED, responses
from service.api.pages import blog_page, user_page
from service.api.parameters import Cursor, IfNoneMatch, Limit, UserId
from service.models import (
    DEFAULT_PAGE_SIZE,
    MAX_FOLLOWS,
    BlogPage,
    User,
    UserCreate,
    UserDelete,
    UserPage,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

SIGN_UP = "sign_up"
"""The sign-up route's name (service.api.app refuses known abusers on it early)."""


@router.post(
    "",
    name=SIGN_UP,
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    responses=CREATED | responses(400, 409, 413, 429),
    summary="Sign up",
    description=(
        "Create a user. The email is stored trimmed and lower-cased; "
        "409 if it, or the chosen `username`, is taken in any letter case. Without a "
        "`username` the user gets one made from their name and id (`ada-lovelace.7`); a chosen "
        "one has no '.' (422). Sign-ups per client address are limited "
        "(429 with `Retry-After`); 503 with `Retry-After` when every password hashing slot is busy."
    ),
)
async def create_user(
    db: DbDep,
    hasher: HasherDep,
    signup_limits: SignupLimitsDep,
    address: ClientAddress,
    data: UserCreate,
    response: Response,
) -> User:
    await signup_limits.count(db=db, address=address)
    user = await users.create_user(db=db, hasher=hasher, data=data)
    response.headers["Location"] = f"/users/{user.id}"
    return user


@router.get(
    "/me",
    response_model=User,
    responses=responses(401),
    summary="The current user",
)
async def read_me(user: CurrentUser) -> User:
    return user


@router.patch(
    "/me",
    response_model=User,
    responses=responses(400, 401, 403, 409, 413, 429),
    summary="Change the current user's name, email, password, username, bio or image",
    description=(
        "Send only what changes; `null` clears `bio` or `image`. Changing the email or password "
        "needs `current_password` (422 without it, 403 when it is wrong; each check counts "
        "against the login limits of POST /auth/token, 429 past them). 409 when another user "
        "has the email or username in any letter case. A new password ends every token made "
        "before it, this one included: log in again."
    ),
)
async def update_me(
    db: DbDep, hasher: HasherDep, guard: PasswordGuardDep, user: CurrentUser, data: UserUpdate
) -> User:
    return await users.update_user(db=db, hasher=hasher, user_id=user.id, data=data, guard=guard)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(400, 401, 403, 409, 413, 429),
    summary="Delete the current user and all their blogs",
    description=(
        "Needs `current_password` in the body (422 without it, 403 when it is wrong; each check "
        "counts against the login limits of POST /auth/token, 429 past them)."
    ),
)
async def delete_me(
    db: DbDep, hasher: HasherDep, guard: PasswordGuardDep, user: CurrentUser, data: UserDelete
) -> Response:
    await users.delete_user(
        db=db,
        hasher=hasher,
        user_id=user.id,
        current_password=data.current_password,
        guard=guard,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_FOLLOWING = (
    "`following` says whether the caller follows them: with a bearer token, for its user "
    "(false for all if the token is from before a password change); without one, false."
)


@router.get(
    "",
    response_model=UserPage,
    responses=responses(401),
    summary="List users",
    description=f"Users in id order, a keyset page at a time. {_FOLLOWING}",
)
async def list_users(
    db: DbDep,
    cursors: CursorsDep,
    reader: Reader,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> UserPage:
    after_id = cursors.decode_one(cursor) if cursor else None
    items, next_id = await users.list_users(db=db, limit=limit, after_id=after_id, reader=reader)
    return user_page(cursors, items, next_id)


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    responses=responses(401, 404),
    summary="A user's public profile",
    description=f"The user as anyone may see them. {_FOLLOWING}",
)
async def read_user(db: DbDep, reader: Reader, user_id: UserId) -> UserPublic:
    return await users.get_public_user(db=db, user_id=user_id, reader=reader)


@router.post(
    "/{user_id}/follow",
    dependencies=[CountedWrite],
    response_model=UserPublic,
    responses=responses(401, 404, 409, 429),
    summary="Follow a user",
    description=(
        "The caller follows the user; answers that user, `following` true. 404 for an unknown "
        "user, 422 for the caller themself, 409 when the caller already follows them or "
        f"already follows {MAX_FOLLOWS} users (the most allowed)."
    ),
)
async def follow_user(db: DbDep, caller: SignedInReader, user_id: UserId) -> UserPublic:
    return await follows.follow(db=db, follower=caller, followed_id=user_id)


@router.delete(
    "/{user_id}/follow",
    dependencies=[CountedWrite],
    response_model=UserPublic,
    responses=responses(401, 404, 429),
    summary="Stop following a user",
    description=(
        "The caller stops following the user; answers that user, `following` false. 404 for an "
        "unknown user or one the caller does not follow, 422 for the caller themself."
    ),
)
async def unfollow_user(db: DbDep, caller: SignedInReader, user_id: UserId) -> UserPublic:
    return await follows.unfollow(db=db, follower=caller, followed_id=user_id)


@router.get(
    "/{user_id}/blogs",
    response_model=BlogPage,
    responses=responses(401, 404) | NOT_MODIFIED,
    summary="A user's blogs",
    description=(
        "The user's blogs, newest first, a keyset page at a time; 404 for an unknown user. With "
        "a bearer token, `favorited` and `owner.following` are the reader's."
    ),
)
async def list_user_blogs(
    db: DbDep,
    cursors: CursorsDep,
    reader: Reader,
    user_id: UserId,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_pair(cursor) if cursor else None
    items, next_key = await blogs.list_user_blogs(
        db=db, user_id=user_id, limit=limit, after=after, reader=reader
    )
    return etags.json_response(blog_page(cursors, items, next_key), if_none_match=if_none_match)
