"""GET /api/profiles/{username}, POST and DELETE /api/profiles/{username}/follow.

Following is idempotent here, as the spec's clients expect: following someone already followed,
or unfollowing someone not followed, answers the profile as it is (the native API says 409 and
404)."""

from typing import Annotated

from fastapi import APIRouter, Path

from service import follows, users
from service.api.dependencies import DbDep
from service.api.realworld.dependencies import CountedWrite, Reader, SignedInReader
from service.api.realworld.models import ProfileResponse, profile
from service.api.realworld.openapi import errors
from service.errors import Conflict, NotFound

router = APIRouter(prefix="/api/profiles", tags=["RealWorld: profiles"])

UsernamePath = Annotated[
    str, Path(min_length=1, max_length=100, pattern=r"^[^\x00]*$", description="In any case.")
]


@router.get(
    "/{username}",
    response_model=ProfileResponse,
    responses=errors(401, 404),
    summary="A profile",
    description="A user by username (any letter case); `following` is the caller's, if any.",
)
async def get_profile(db: DbDep, reader: Reader, username: UsernamePath) -> ProfileResponse:
    found = await users.get_profile_by_username(db=db, username=username, reader=reader)
    return ProfileResponse(profile=profile(found))


@router.post(
    "/{username}/follow",
    dependencies=[CountedWrite],
    response_model=ProfileResponse,
    responses=errors(401, 404, 429),
    summary="Follow a user",
    description=(
        "Answers the profile, `following` true, also when already followed. 422 for oneself or "
        "past 1,000 follows."
    ),
)
async def follow(db: DbDep, reader: SignedInReader, username: UsernamePath) -> ProfileResponse:
    found = await users.get_profile_by_username(db=db, username=username, reader=reader)
    try:
        followed = await follows.follow(db=db, follower=reader, followed_id=found.id)
    except Conflict:
        if not found.following:
            raise  # past the most follows allowed
        return ProfileResponse(profile=profile(found))
    return ProfileResponse(profile=profile(followed))


@router.delete(
    "/{username}/follow",
    dependencies=[CountedWrite],
    response_model=ProfileResponse,
    responses=errors(401, 404, 429),
    summary="Stop following a user",
    description="Answers the profile, `following` false, also when it was not followed.",
)
async def unfollow(db: DbDep, reader: SignedInReader, username: UsernamePath) -> ProfileResponse:
    found = await users.get_profile_by_username(db=db, username=username, reader=reader)
    try:
        unfollowed = await follows.unfollow(db=db, follower=reader, followed_id=found.id)
    except NotFound:
        if found.following:
            raise  # the user was deleted meanwhile
        return ProfileResponse(profile=profile(found))
    return ProfileResponse(profile=profile(unfollowed))
