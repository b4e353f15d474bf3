"""What the app holds for its requests, as one typed object: the app's `state`.

It is still Starlette's `State` (so `app.state.databases` reads as before), with each attribute
declared and typed, and read through `of(request)` instead of an untyped lookup per getter.
`tokens` and `hasher` are made at start-up (the lifespan); the rest when the app is made.
"""

from starlette.datastructures import State
from starlette.requests import HTTPConnection

from service.api.cursors import CursorCodec
from service.api.middleware.cache_store import ResponseStore
from service.db.invalidations import InvalidationListener
from service.db.replicas import Databases
from service.limits import LoginLimits, SignupLimits, WriteLimits
from service.passwords import PasswordHasher
from service.settings import Settings
from service.tokens import TokenCodec


class AppState(State):
    settings: Settings
    databases: Databases
    cursors: CursorCodec
    read_cache: ResponseStore | None
    """None when READ_CACHE is off."""
    read_cache_listener: InvalidationListener
    login_limits: LoginLimits
    signup_limits: SignupLimits
    write_limits: WriteLimits
    tokens: TokenCodec
    """Made at start-up: its audience is the database's deployment id."""
    hasher: PasswordHasher
    """Made at each start-up, with its hashing threads."""


def of(connection: HTTPConnection) -> AppState:
    """The state of the app serving this request."""
    state = connection.app.state
    assert isinstance(state, AppState), "the app was not made by service.api.app.create_app"
    return state
