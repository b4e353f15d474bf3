"""Early refusals are keyed by route names, so a route that moves keeps its refusal and a name
that matches no route stops the app from being made, instead of silently dropping it."""

import pytest
from fastapi import FastAPI

from service.api.app import create_app
from service.api.middleware.early_refusals import EarlyRefusals, Refusal, on_routes
from service.testing.app import settings_for

REFUSAL = Refusal(known_over=lambda address: 0.0, message="too many")


def test_a_route_name_the_app_does_not_have_stops_the_app_from_being_made() -> None:
    app = FastAPI()
    with pytest.raises(RuntimeError, match="'log_in': the app has no such route"):
        on_routes(app, {"log_in": REFUSAL})


def test_a_refusal_follows_its_route_wherever_it_is() -> None:
    app = FastAPI()

    @app.post("/somewhere/else", name="log_in")
    async def log_in() -> None:
        return None

    assert on_routes(app, {"log_in": REFUSAL}) == {("POST", "/somewhere/else"): REFUSAL}


def test_the_app_refuses_early_on_both_apis_sign_ups_and_logins() -> None:
    app = create_app(settings_for("postgresql://nobody@127.0.0.1:1/none"))
    (early,) = [m for m in app.user_middleware if m.cls is EarlyRefusals]
    routes = early.kwargs["routes"]
    assert set(routes) == {
        ("POST", "/users"),
        ("POST", "/auth/token"),
        ("POST", "/api/users"),
        ("POST", "/api/users/login"),
    }
    assert routes[("POST", "/users")].message == routes[("POST", "/api/users")].message
    assert routes[("POST", "/auth/token")].message == routes[("POST", "/api/users/login")].message
