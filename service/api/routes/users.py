from fastapi import APIRouter, Response, status

from service import blogs, users
from service.api import etags
from service.api.dependencies import CurrentUser, CursorsDep, DbDep
from service.api.openapi import NOT_MODIFIED, responses
from service.api.pages import blog_page, user_page
from service.api.parameters import Cursor, IfNoneMatch, Limit, UserId
from service.models import (
    DEFAULT_PAGE_SIZE,
    BlogPage,
    User,
    UserCreate,
    UserPage,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    responses=responses(400, 409, 413),
    summary="Sign up",
    description=(
        "Create a user. The email is stored trimmed and lower-cased; "
        "409 if it is taken in any letter case."
    ),
)
async def create_user(db: DbDep, data: UserCreate) -> User:
    return await users.create_user(db=db, data=data)


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
    responses=responses(400, 401, 413),
    summary="Change the current user's name or password",
)
async def update_me(db: DbDep, user: CurrentUser, data: UserUpdate) -> User:
    return await users.update_user(db=db, user_id=user.id, data=data)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401),
    summary="Delete the current user and all their blogs",
)
async def delete_me(db: DbDep, user: CurrentUser) -> Response:
    await users.delete_user(db=db, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "",
    response_model=UserPage,
    responses=responses(),
    summary="List users",
    description="Users in id order, a keyset page at a time.",
)
async def list_users(
    db: DbDep, cursors: CursorsDep, limit: Limit = DEFAULT_PAGE_SIZE, cursor: Cursor = None
) -> UserPage:
    after_id = cursors.decode_one(cursor) if cursor else None
    items, next_id = await users.list_users(db=db, limit=limit, after_id=after_id)
    return user_page(cursors, items, next_id)


@router.get(
    "/{user_id}",
    response_model=UserPublic,
    responses=responses(404),
    summary="A user's public profile",
)
async def read_user(db: DbDep, user_id: UserId) -> UserPublic:
    return await users.get_public_user(db=db, user_id=user_id)


@router.get(
    "/{user_id}/blogs",
    response_model=BlogPage,
    responses=responses(404) | NOT_MODIFIED,
    summary="A user's blogs",
    description="The user's blogs, newest first, a keyset page at a time; 404 for an unknown user.",
)
async def list_user_blogs(
    db: DbDep,
    cursors: CursorsDep,
    user_id: UserId,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    after = cursors.decode_pair(cursor) if cursor else None
    items, next_key = await blogs.list_user_blogs(db=db, user_id=user_id, limit=limit, after=after)
    return etags.json_response(blog_page(cursors, items, next_key), if_none_match=if_none_match)
