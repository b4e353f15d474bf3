"""The app the fixtures test: its settings, and the factory that makes it.

A project built on this service points the fixtures at its own app in one of two ways: the
`blog_api_app` ini option (`module:callable`), or an `app_factory` fixture of its own.
"""

from importlib import import_module
from typing import Any, Protocol

from fastapi import FastAPI

from service.db.database import Database
from service.settings import Settings

TOKEN_SECRET = "test-secret-" + "x" * 32


class AppFactory(Protocol):
    """Makes the app on the database given: `service.api.app.create_app` has this shape."""

    def __call__(self, settings: Settings, *, database: Database) -> FastAPI: ...


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Settings on `database_url` with a fixed token secret, ignoring any `.env` file. The
    response cache is off unless asked for: inside a rolled-back transaction nothing commits,
    so nothing would ever invalidate it."""
    return Settings(
        database_url=database_url,
        token_secret=TOKEN_SECRET,
        _env_file=None,
        **{"read_cache": False, **overrides},
    )


def load_app_factory(spec: str) -> AppFactory:
    """The callable `spec` names, as `package.module:name`."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"blog_api_app = {spec!r}: expected 'package.module:callable'")
    factory: AppFactory = getattr(import_module(module_name), attribute)
    return factory
