"""A project's own endpoint on blog-api: GET /users/{user_id}/titles, from a query file of its
own, through a data function, in the service's app."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel

from service.api.app import create_app as create_blog_app
from service.api.dependencies import DbDep
from service.db.database import Connection, Database
from service.db.queries import load
from service.settings import Settings

BLOG_TITLES = load("blog_titles", Path(__file__).parent / "sql")


class Title(BaseModel):
    id: int
    title: str


async def blog_titles(*, db: Connection, user_id: int, limit: int) -> list[Title]:
    rows = await db.fetch_rows(BLOG_TITLES, user_id=user_id, limit=limit)
    return [Title(id=row["id"], title=row["title"]) for row in rows]


router = APIRouter(tags=["titles"])


@router.get("/users/{user_id}/titles", summary="A user's blog titles, newest first")
async def list_titles(
    db: DbDep, user_id: int, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[Title]:
    return await blog_titles(db=db, user_id=user_id, limit=limit)


def create_app(settings: Settings, *, database: Database) -> FastAPI:
    app = create_blog_app(settings, database=database)
    app.include_router(router)
    return app
