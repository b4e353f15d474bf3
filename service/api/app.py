from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import error_handlers
from service.api.cursors import CursorCodec
from service.api.login_limits import LoginLimiter
from service.api.middleware.body_limit import BodySizeLimit
from service.api.routes import auth, blogs, health, users
from service.db.database import Database
from service.settings import Settings

DESCRIPTION = """
Users and their blogs, on PostgreSQL through hand-written SQL.

Log in at `POST /auth/token` and send the token as `Authorization: Bearer <token>`.
Lists are keyset pages: pass a page's `next_cursor` as `cursor` to get the next one.
"""


def database_from(settings: Settings) -> Database:
    if not settings.database_url:
        raise RuntimeError(
            "DATABASE_URL is not set; `python -m service serve` starts a local server"
        )
    return Database(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        acquire_timeout=settings.db_acquire_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        command_timeout=settings.db_command_timeout,
    )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.warn_about_random_secret()
    database = database or database_from(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.connect()
        try:
            yield
        finally:
            await database.disconnect()

    app = FastAPI(
        title="Blog API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.cursors = CursorCodec(settings.token_secret)
    app.state.login_limiter = LoginLimiter(
        window_seconds=settings.login_failure_window_seconds,
        per_account_and_address=settings.login_max_failures_per_account_and_address,
        per_account=settings.login_max_failures_per_account,
        per_address=settings.login_max_failures_per_address,
    )
    # Ours rather than FastAPI's max_body_size, whose early 413 is plain text, not {"detail"}.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    error_handlers.install(app)
    for module in (auth, users, blogs, health):
        app.include_router(module.router)
    return app
