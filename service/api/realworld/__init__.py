"""The RealWorld ("Conduit") API under /api: the public spec's paths, envelopes and errors, over
the same data functions as the native API (service.users, service.blogs, ...)."""

from fastapi import FastAPI

from service.api.prefixed_router import PrefixedRouter
from service.api.realworld.errors import PREFIX
from service.api.realworld.routes import articles, comments, profiles, tags, users


def install(app: FastAPI) -> None:
    """Its routes, behind one check of the prefix (service.api.prefixed_router), the most
    requested first; the app includes them before the native ones. Its error shape is given to
    service.api.error_handlers by the app."""
    api = PrefixedRouter(f"{PREFIX}/")
    for module in (articles, comments, profiles, users, tags):
        api.include_router(module.router)
    app.include_router(api)
