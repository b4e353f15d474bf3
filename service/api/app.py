import gc
import platform
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from service import __version__
from service.api import error_handlers
from service.api.cursors import CursorCodec
from service.api.middleware.body_limit import RequestBodyLimits
from service.api.middleware.cache_store import ResponseStore
from service.api.middleware.early_refusals import EarlyRefusals, Refusal, on_routes
from service.api.middleware.observe import Observe
from service.api.middleware.read_cache import ReadCache
from service.api.middleware.security_headers import SecurityHeaders
from service.api.realworld import errors as realworld_errors
from service.api.realworld import install as install_realworld
from service.api.realworld.routes import users as realworld_users
from service.api.routes import auth, blogs, comments, feed, health, tags, users
from service.api.routes import metrics as metrics_route
from service.api.state import AppState
from service.db.database import Database
from service.db.invalidations import InvalidationListener
from service.db.replicas import Databases
from service.db.urls import primary_dsn
from service.deployment import check_search_config, deployment_id, server_version
from service.limits import KnownOverLimit, Limit, LoginLimits, SignupLimits, WriteLimits
from service.observability import metrics, tracing
from service.passwords import PasswordHasher
from service.settings import Settings
from service.tokens import TokenCodec

DESCRIPTION = """
Users and their blogs, on PostgreSQL through hand-written SQL.

Log in at `POST /auth/token` and send the token as `Authorization: Bearer <token>`.
Lists are keyset pages: pass a page's `next_cursor` as `cursor` to get the next one.

A 422 lists what is wrong with the request in plain words, at most 20 errors and one more entry
counting the rest; it never shows a password or token that was sent, and a body that is not a
JSON object gets `send a JSON object with Content-Type: application/json`.

The RealWorld ("Conduit") API is served under `/api`, with `Authorization: Token <token>`.

Anonymous reads (no `Authorization`, no cookie) of blogs, lists, profiles, comments and tags
may be answered from the server's memory. A page is dropped as soon as a change it shows
commits (milliseconds later), and is never older than `READ_CACHE_MAX_AGE_SECONDS` (60 s by
default); signed-in readers always read the database. These responses carry
`Vary: Authorization`. The operator turns it off with `READ_CACHE=false`.
"""


def database_from(settings: Settings, url: str | None = None) -> Database:
    """A pool on DATABASE_URL (or on `url`, a replica's) as the settings describe it."""
    if url is None:
        if not settings.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set; `python -m service serve` starts a local server"
            )
        url = primary_dsn(settings.database_url)
    return Database(
        url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        acquire_timeout=settings.db_acquire_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        command_timeout=settings.db_command_timeout,
        search_config=settings.search_config,
        slow_statement_ms=settings.slow_statement_ms,
        pooler=settings.db_pooler != "none",
    )


_DRAIN_SECONDS = 1.0


def _read_cache(
    settings: Settings, database: Database
) -> tuple[ResponseStore | None, InvalidationListener]:
    """The response cache (READ_CACHE, or none) and the listener that keeps it exact.

    Without a cache the listener still announces: writers queue their changes in the database
    whatever this worker serves (0023), another deployment on the same database may cache, and
    a queue no one takes would only grow."""
    # The server itself, as the pool reaches it: never a replica, never through PgBouncer.
    url = settings.database_direct_url or database.url
    if not settings.read_cache:
        # No reader here waits for these: the listeners of a deployment that caches announce
        # at their own pace.
        return None, InvalidationListener(url, announce_seconds=_DRAIN_SECONDS)
    store = ResponseStore(
        max_bytes=settings.read_cache_max_mb * 1024 * 1024,
        max_age=settings.read_cache_max_age_seconds,
        # A replica further behind than REPLICA_MAX_LAG at its latest check gets no reads.
        replica_window=settings.replica_max_lag + 2 * settings.replica_check_seconds,
    )
    listener = InvalidationListener(
        url,
        on_invalidate=store.invalidate,
        on_up=store.listener_up,
        on_down=store.listener_down,
        announce_seconds=settings.read_cache_announce_seconds,
    )
    return store, listener


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    replicas: list[Database] | None = None,
    tracer_provider: Any = None,
) -> FastAPI:
    """The app, on `database` and `replicas` or those the settings name. `tracer_provider` (an
    OpenTelemetry TracerProvider) turns tracing on; without one, OTEL_EXPORTER_OTLP_ENDPOINT does
    (see service/observability/tracing.py)."""
    settings = settings or Settings()
    settings.warn_about_random_secret()
    database = database or database_from(settings)
    if replicas is None:
        replicas = [database_from(settings, url) for url in settings.replica_urls]
    pools = Databases(
        database,
        replicas,
        max_lag=settings.replica_max_lag,
        check_seconds=settings.replica_check_seconds,
    )
    store, listener = _read_cache(settings, database)
    tracer_provider = tracer_provider or tracing.provider_from_environment()
    if tracer_provider is not None:
        for pool in (database, *replicas):
            pool.tracer = tracing.database_tracer(tracer_provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pools.connect()
        # Made at each start, so an app started again gets hashing threads again.
        hasher = app_state.hasher = PasswordHasher(
            concurrency=settings.password_hash_concurrency,
            wait_seconds=settings.password_hash_wait_seconds,
        )
        try:
            async with database.connection() as db:
                await check_search_config(db=db, name=settings.search_config)
                audience = await deployment_id(db=db)
                postgresql = await server_version(db=db)
            metrics.build_info.labels(__version__, platform.python_version(), postgresql).set(1)
            app_state.tokens = TokenCodec(
                secret=settings.token_secret,
                issuer=settings.token_issuer,
                audience=audience,
                expires_in=timedelta(minutes=settings.token_expire_minutes),
            )
            # What start-up made lives as long as the process: keep the garbage collector from
            # walking it again on every full collection (pauses of tens of ms otherwise).
            gc.freeze()
            listener.start()
            yield
        finally:
            await listener.stop()
            hasher.close()
            await pools.disconnect()

    app = FastAPI(
        title="Blog API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Server spans when tracing is on; metrics are ours (Prometheus), not FastAPI's.
        telemetry={
            "tracing": tracer_provider is not None,
            "tracer_provider": tracer_provider,
            "metrics": False,
            "logs": False,
        },
    )
    known_over_limit = KnownOverLimit()
    login_window = settings.login_failure_window_seconds
    login_limits = LoginLimits(
        per_account_and_address=Limit(
            "login-pair", settings.login_max_failures_per_account_and_address, login_window
        ),
        per_account=Limit("login-account", settings.login_max_failures_per_account, login_window),
        per_address=Limit("login-address", settings.login_max_failures_per_address, login_window),
        known=known_over_limit,
    )
    signup_limits = SignupLimits(
        per_address=Limit(
            "signup-address", settings.signup_max_per_address, settings.signup_window_seconds
        ),
        known=known_over_limit,
    )
    app.state = app_state = AppState(
        {
            "settings": settings,
            "databases": pools,
            "cursors": CursorCodec(settings.token_secret),
            "read_cache": store,
            "read_cache_listener": listener,
            "login_limits": login_limits,
            "signup_limits": signup_limits,
            "write_limits": WriteLimits(
                per_user=Limit(
                    "write-user", settings.write_max_per_user, settings.write_window_seconds
                ),
                known=known_over_limit,
            ),
        }
    )

    error_handlers.install(app, shapes={realworld_errors.PREFIX: realworld_errors.render})
    # The RealWorld API under /api, over the same data functions; first, since a native request
    # passes it with one look at the path.
    install_realworld(app)
    for module in (auth, users, blogs, comments, tags, feed, health):
        app.include_router(module.router)
    if settings.metrics_enabled:
        app.include_router(metrics_route.router)

    # Middleware, innermost first (each one added wraps the ones before it).
    # Ours rather than FastAPI's max_body_size, whose early 413 is plain text, not {"detail"}.
    app.add_middleware(
        RequestBodyLimits,
        max_bytes=settings.max_body_bytes,
        timeout_seconds=settings.body_timeout_seconds,
        max_in_flight=settings.max_body_bytes_in_flight,
    )
    sign_up = Refusal(signup_limits.known_over, SignupLimits.message)
    log_in = Refusal(login_limits.known_over, LoginLimits.message)
    app.add_middleware(
        EarlyRefusals,
        routes=on_routes(
            app,
            {
                users.SIGN_UP: sign_up,
                auth.LOG_IN: log_in,
                realworld_users.SIGN_UP: sign_up,
                realworld_users.LOG_IN: log_in,
            },
        ),
    )
    # In front of routing; below the headers and measures every answer gets, hits included.
    app.add_middleware(ReadCache, store=store)
    # Its headers reach every answer of the app and of the middleware above.
    app.add_middleware(SecurityHeaders)
    # Outermost of ours: every response gets its request id, and every request is measured.
    app.add_middleware(
        Observe,
        access_log=settings.access_log,
        slow_request_ms=settings.slow_request_ms,
        skip=frozenset({"/metrics"}),
    )
    return app
