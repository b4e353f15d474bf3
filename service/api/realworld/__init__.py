"""The RealWorld ("Conduit") API under /api: the public spec's paths, envelopes and errors, over
the same data functions as the native API (service.users, service.blogs, ...)."""

from fastapi import FastAPI

from service.api.realworld.routes import articles, comments, profiles, tags, users


def install(app: FastAPI) -> None:
    """Its routes (its error shape is given to service.api.error_handlers by the app)."""
    for module in (users, profiles, articles, comments, tags):
        app.include_router(module.router)
