"""Fuzz every operation in the OpenAPI schema with schemathesis, statelessly and statefully.

Schemathesis drives the app through its own client on an event loop of its own, so the app
gets a real pool on a database of its own (created here, dropped afterwards) rather than the
rolled-back connection of the other tests. Every response must be a documented status code,
never a 5xx, and match its documented content type and schema.

Hypothesis and schemathesis keep what they store (examples, caches) in a temporary directory of
this module's own, never in the checkout.
"""

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Flaky
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import storage
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi

from service.api.app import create_app
from service.db.database import Database
from service.testing.accounts import PASSWORD
from service.testing.app import settings_for
from service.testing.databases import connect, create_database, drop_database, scratch_name
from service.tokens import TokenCodec

# Nothing stored in the checkout: `.hypothesis/` and `.schemathesis/` go to a temporary
# directory, removed when the run ends.
_STORAGE = tempfile.TemporaryDirectory(prefix="blog-api-fuzz-")
set_hypothesis_home_dir(Path(_STORAGE.name) / "hypothesis")
storage.DEFAULT_ROOT = Path(_STORAGE.name) / "schemathesis"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Enough to find the usual faults in a few seconds per operation; password hashing makes
# sign-up, login and password changes cost about 0.3-0.5 s each on two cores.
# No example database: every run starts afresh.
FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
# Scenarios run until this many steps were checked (or the time is up, which fails the test).
STATEFUL_STEPS = 100
STATEFUL_SECONDS = 60
STATEFUL_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# These change or remove the caller's account, so each case gets an account of its own.
ACCOUNT_CHANGING = {("PATCH", "/users/me"), ("DELETE", "/users/me"), ("PUT", "/api/user")}


async def _copy_user(url: str, user_id: int) -> int:
    """A new user with the same password as `user_id`: no password hashing needed."""
    async with connect(url) as conn:
        new_id: int = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash)"
            " SELECT 'Fuzz', $2, password_hash FROM users WHERE id = $1 RETURNING id",
            user_id,
            f"{uuid.uuid4().hex[:12]}@example.com",
        )
    return new_id


@dataclass
class FuzzTarget:
    app: FastAPI
    url: str
    user_id: int
    blog_id: int
    headers: dict[str, str]

    def bearer(self, user_id: int) -> dict[str, str]:
        # The app's own codec (started by the fixture): its key and this database's audience.
        tokens: TokenCodec = self.app.state.tokens
        return {"Authorization": f"Bearer {tokens.encode(user_id=user_id, version=0)}"}

    def disposable_headers(self) -> dict[str, str]:
        """Headers for a fresh account that a case may change or delete."""
        headers = self.bearer(asyncio.run(_copy_user(self.url, self.user_id)))
        with asgi.get_client(self.app) as client:
            me = client.get("/users/me", headers=headers)
        assert me.status_code == 200, me.text
        return headers

    def headers_for(self, operation: tuple[str, str]) -> dict[str, str]:
        return self.disposable_headers() if operation in ACCOUNT_CHANGING else self.headers


@pytest.fixture(scope="module")
def fuzz_database(server_url: str) -> Iterator[str]:
    name = scratch_name("blog_fuzz")
    url = asyncio.run(create_database(server_url, name))
    try:
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))


def _fuzz_app(url: str) -> FastAPI:
    return create_app(settings_for(url), database=Database(url, min_size=1, max_size=4))


@dataclass
class FuzzAccount:
    user_id: int
    blog_id: int
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_account(fuzz_database: str) -> FuzzAccount:
    """A user with a blog, made once through the API."""
    app = _fuzz_app(fuzz_database)
    try:
        with asgi.get_client(app) as client:
            email = f"{uuid.uuid4().hex[:12]}@example.com"
            created = client.post(
                "/users", json={"name": "Fuzzer", "email": email, "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
            token = client.post("/auth/token", data={"username": email, "password": PASSWORD})
            assert token.status_code == 200, token.text
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            blog = client.post("/blogs", json={"title": "Seed", "body": "text"}, headers=headers)
            assert blog.status_code == 201, blog.text
    finally:
        # Closes the pool on schemathesis's event loop.
        asgi.shutdown_lifespans()
    return FuzzAccount(created.json()["id"], blog.json()["id"], headers)


@pytest.fixture
def fuzz_target(fuzz_database: str, fuzz_account: FuzzAccount) -> Iterator[FuzzTarget]:
    """An app of the test's own, started once as a server would start it: schemathesis's pytest
    plugin ends the lifespan of every ASGI app it reached when a test ends."""
    app = _fuzz_app(fuzz_database)
    try:
        with asgi.get_client(app):
            pass  # starts the lifespan, which runs until the test ends
        yield FuzzTarget(
            app, fuzz_database, fuzz_account.user_id, fuzz_account.blog_id, fuzz_account.headers
        )
    finally:
        # Closes the pool on schemathesis's event loop, before the database is dropped.
        asgi.shutdown_lifespans()


def _openapi() -> dict[str, Any]:
    # The document does not depend on the database, so an app that never connects can give it;
    # the tests below send their requests to `fuzz_target.app`.
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    return create_app(settings_for(url), database=Database(url, min_size=0)).openapi()


DOCUMENT = _openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(modes=list(schemathesis.GenerationMode))

BODY_OPERATIONS = [
    (method.upper(), path, next(iter(operation["requestBody"]["content"])))
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if "requestBody" in operation
]


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, fuzz_target: FuzzTarget
) -> None:
    headers = fuzz_target.headers_for((case.method.upper(), case.path))
    case.call_and_validate(headers=headers, checks=CHECKS, app=fuzz_target.app)


@pytest.mark.parametrize(("method", "path", "media_type"), BODY_OPERATIONS)
@pytest.mark.parametrize(
    "body", [b'{"title": "\xff\xfe"}', b"[" * 100_000], ids=["not-utf-8", "nested-100k"]
)
def test_unparsable_bodies_get_a_documented_status(
    fuzz_target: FuzzTarget, method: str, path: str, media_type: str, body: bytes
) -> None:
    # What the fuzzer finds at random, every time: bodies that fail to parse at all.
    documented = DOCUMENT["paths"][path][method.lower()]["responses"]
    headers = fuzz_target.headers_for((method, path)) | {"Content-Type": media_type}
    url = path.replace("{blog_id}", str(fuzz_target.blog_id))
    with asgi.get_client(fuzz_target.app) as client:
        response = client.request(method, url, data=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert str(response.status_code) in documented, (
        f"{method} {path} answered {response.status_code} {response.text}, "
        f"documented: {', '.join(documented)}"
    )


def test_sequences_of_linked_operations_answer_as_documented(fuzz_target: FuzzTarget) -> None:
    # Failures are collected, not raised: Hypothesis replays scenarios, and a replay against a
    # database the first run already changed draws differently. Hypothesis reports that as
    # Flaky; like schemathesis's own runner, start another run then, until enough steps ran.
    failures: list[str] = []
    steps: Counter[tuple[str, str, int]] = Counter()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Scenarios may change the password or delete the account: each gets its own.
            self.headers = fuzz_target.disposable_headers()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": self.headers, "app": fuzz_target.app}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            # An exception escaping the app is a 500 that never becomes a response here: record
            # it, since a replay that does not raise again would only be reported as Flaky.
            try:
                return super().call(case, **kwargs)
            except Exception as exc:
                steps[(case.method, case.path, 500)] += 1
                failures.append(f"{case.method} {case.formatted_path}: the app raised {exc!r}")
                raise

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kw: Any
        ) -> None:
            steps[(case.method, case.path, response.status_code)] += 1
            try:
                case.validate_response(
                    response, checks=CHECKS, transport_kwargs=kw or None, recorder=self.recorder
                )
            except FailureGroup as exc:
                failures.append(_describe(response, exc))

    deadline = time.monotonic() + STATEFUL_SECONDS
    while steps.total() < STATEFUL_STEPS and time.monotonic() < deadline:
        with contextlib.suppress(Flaky):
            Machine.run(settings=STATEFUL_SETTINGS)
    assert not failures, f"{len(failures)} failing steps; the first:\n" + "\n\n".join(failures[:3])
    server_errors = {step: n for step, n in steps.items() if step[2] >= 500}
    assert not server_errors, server_errors
    assert steps.total() >= STATEFUL_STEPS, f"only {steps.total()} steps ran: {steps}"
    # The links were followed: blogs were created and then read, edited, deleted or commented on
    # by their id, natively or (as articles, by slug) under /api.
    linked = {(method, path, status) for method, path, status in steps if status < 300}
    followed = {
        (method, path, status)
        for method, path, status in linked
        if path.startswith(("/blogs/{blog_id}", "/api/articles/{slug}"))
    }
    assert followed, steps


def _describe(response: Any, exc: FailureGroup) -> str:
    """The request as sent (body bytes included, which curl output mangles) and the report."""
    request = response.request
    body = request.body.encode() if isinstance(request.body, str) else request.body or b""
    return f"{request.method} {request.path_url} body={body[:300]!r}\n{exc.message}"
