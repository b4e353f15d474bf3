from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from service.api import error_handlers
from service.api.cursors import CursorCodec
from service.api.middleware.body_limit import BodySizeLimit
from service.api.routes import auth, blogs, health, users
from service.db.database import Database
from service.deployment import check_search_config, deployment_id
from service.limits import Limit, LoginLimits, SignupLimits
from service.passwords import PasswordHasher
from service.settings import Settings
from service.tokens import TokenCodec

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
        search_config=settings.search_config,
    )


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.warn_about_random_secret()
    database = database or database_from(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.connect()
        try:
            async with database.connection() as db:
                await check_search_config(db=db, name=settings.search_config)
                audience = await deployment_id(db=db)
            app.state.tokens = TokenCodec(
                secret=settings.token_secret,
                issuer=settings.token_issuer,
                audience=audience,
                expires_in=timedelta(minutes=settings.token_expire_minutes),
            )
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
    app.state.hasher = PasswordHasher(
        concurrency=settings.password_hash_concurrency,
        wait_seconds=settings.password_hash_wait_seconds,
    )
    login_window = settings.login_failure_window_seconds
    app.state.login_limits = LoginLimits(
        per_account_and_address=Limit(
            "login-pair", settings.login_max_failures_per_account_and_address, login_window
        ),
        per_account=Limit("login-account", settings.login_max_failures_per_account, login_window),
        per_address=Limit("login-address", settings.login_max_failures_per_address, login_window),
    )
    app.state.signup_limits = SignupLimits(
        per_address=Limit(
            "signup-address", settings.signup_max_per_address, settings.signup_window_seconds
        )
    )
    # Ours rather than FastAPI's max_body_size, whose early 413 is plain text, not {"detail"}.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    error_handlers.install(app)
    for module in (auth, users, blogs, health):
        app.include_router(module.router)
    return app
