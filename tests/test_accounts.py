"""Accounts under attack: limits on sign-ups and logins, password work off the pool, tokens that
really end, secrets that are never echoed. Concurrency runs on a real pool (scratch databases
that commit), so a race that the service lost would show."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from pwdlib.hashers.argon2 import Argon2Hasher

from service import passwords
from service.db.database import Connection
from service.passwords import ARGON2_MEMORY_KIB
from service.settings import Settings
from service.testing.accounts import PASSWORD, SignUp, sign_up_with
from service.testing.app import settings_for
from service.testing.databases import ScratchDatabase, connect
from tests.support.servers import in_process

pytestmark = pytest.mark.anyio


def _email() -> str:
    return f"{uuid.uuid4().hex[:12]}@example.com"


async def _login(client: AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


def _bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# --- sign-up ---------------------------------------------------------------------------------


async def test_sign_ups_per_address_are_limited(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    settings = settings_for(url, signup_max_per_address=3)
    async with in_process(url, settings=settings) as client:
        answers = [
            await client.post("/users", json={"name": "A", "email": _email(), "password": PASSWORD})
            for _ in range(5)
        ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].json() == answers[-2].json()
    assert answers[-1].headers["x-content-type-options"] == "nosniff"
    async with connect(url) as conn:
        assert await conn.fetchval("SELECT count(*) FROM users") == 3
        # The fifth was refused from memory, before any parsing or database work.
        assert await conn.fetchval("SELECT max(hits) FROM rate_limits") == 4


async def test_a_taken_email_is_409_without_hashing(
    client: AsyncClient, sign_up: SignUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = await sign_up()
    hashed: list[str] = []
    real_hash = passwords._argon2.hash
    monkeypatch.setattr(passwords._argon2, "hash", lambda p: hashed.append(p) or real_hash(p))
    answer = await client.post(
        "/users", json={"name": "B", "email": taken.email.upper(), "password": "another one"}
    )
    assert answer.status_code == 409
    assert hashed == []


# --- logins ----------------------------------------------------------------------------------


async def test_concurrent_wrong_passwords_get_exactly_the_limit_through(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=10) as client:
        victim = await sign_up_with(client)
        answers = await asyncio.gather(
            *(_login(client, victim.email, "wrong password") for _ in range(20))
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [401] * 5 + [429] * 15
        # The right password from this address is held back too, until the window ends.
        assert (await _login(client, victim.email)).status_code == 429


async def test_a_right_password_takes_its_attempt_back(
    client: AsyncClient, sign_up: SignUp
) -> None:
    user = await sign_up()
    for _ in range(3):
        assert (await _login(client, user.email, "wrong password")).status_code == 401
    assert (await _login(client, user.email)).status_code == 200
    # The pair counter was cleared: five more wrong tries before 429.
    codes = [(await _login(client, user.email, "wrong password")).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


async def test_a_login_releases_its_connection_while_checking_the_password(
    scratch_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await scratch_database()
    verifying = asyncio.Event()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    real_verify = passwords._argon2.verify_and_update

    def slow_verify(password: str, stored: str) -> Any:
        loop.call_soon_threadsafe(verifying.set)
        asyncio.run_coroutine_threadsafe(done.wait(), loop).result(timeout=10)
        return real_verify(password, stored)

    # One pooled connection, and a short wait for it: a login holding it would starve the read.
    async with in_process(url, min_size=1, max_size=1, acquire_timeout=0.5) as client:
        user = await sign_up_with(client)
        monkeypatch.setattr(passwords._argon2, "verify_and_update", slow_verify)
        login = asyncio.create_task(_login(client, user.email))
        await verifying.wait()
        read = await client.get(f"/users/{user.id}")
        done.set()
        assert read.status_code == 200, read.text
        assert (await login).status_code == 200


async def test_hashing_slots_busy_answer_503_with_retry_after(
    scratch_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await scratch_database()
    settings = settings_for(url, password_hash_concurrency=1, password_hash_wait_seconds=0.05)
    release = asyncio.Event()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    real_hash = passwords._argon2.hash

    def blocking_hash(password: str) -> str:
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return real_hash(password)

    async with in_process(url, settings=settings, min_size=1, max_size=4) as client:
        monkeypatch.setattr(passwords._argon2, "hash", blocking_hash)
        body = {"name": "A", "password": PASSWORD}
        first = asyncio.create_task(client.post("/users", json=body | {"email": _email()}))
        await started.wait()
        second = await client.post("/users", json=body | {"email": _email()})
        release.set()
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "1"
        assert (await first).status_code == 201


# --- tokens that end -------------------------------------------------------------------------


async def test_no_token_survives_a_password_change_whatever_the_interleaving(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    settings = settings_for(
        url,
        login_max_failures_per_account_and_address=1000,
        login_max_failures_per_account=1000,
        login_max_failures_per_address=1000,
    )
    async with in_process(url, settings=settings, min_size=1, max_size=10) as client:
        user = await sign_up_with(client)
        before = _bearer(await _login(client, user.email))

        async def change() -> httpx.Response:
            await asyncio.sleep(0.02)
            return await client.patch(
                "/users/me",
                json={"password": "a brand new password", "current_password": PASSWORD},
                headers=before,
            )

        results = await asyncio.gather(change(), *(_login(client, user.email) for _ in range(30)))
        changed, logins = results[0], results[1:]
        assert changed.status_code == 200, changed.text
        tokens = [before] + [_bearer(r) for r in logins if r.status_code == 200]
        assert len(tokens) > 1  # some logins got through with the old password
        survivors = [
            t for t in tokens if (await client.get("/users/me", headers=t)).status_code != 401
        ]
        assert survivors == []
        fresh = await _login(client, user.email, "a brand new password")
        assert (await client.get("/users/me", headers=_bearer(fresh))).status_code == 200


async def test_changing_email_or_password_needs_the_current_password(
    client: AsyncClient, sign_up: SignUp
) -> None:
    user = await sign_up()
    for change in ({"password": "new password 1"}, {"email": _email()}):
        missing = await client.patch("/users/me", json=change, headers=user.headers)
        assert missing.status_code == 422
        wrong = await client.patch(
            "/users/me", json=change | {"current_password": "not it"}, headers=user.headers
        )
        assert wrong.status_code == 403
    renamed = await client.patch("/users/me", json={"name": "Grace"}, headers=user.headers)
    assert renamed.json()["name"] == "Grace"
    new_email = _email()
    moved = await client.patch(
        "/users/me",
        json={"email": new_email.upper(), "current_password": PASSWORD},
        headers=user.headers,
    )
    assert moved.status_code == 200 and moved.json()["email"] == new_email
    assert (await _login(client, new_email)).status_code == 200
    other = await sign_up()
    clash = await client.patch(
        "/users/me",
        json={"email": other.email, "current_password": PASSWORD},
        headers=user.headers,
    )
    assert clash.status_code == 409


async def test_deleting_the_account_needs_the_current_password(
    client: AsyncClient, sign_up: SignUp
) -> None:
    user = await sign_up()
    missing = await client.request("DELETE", "/users/me", headers=user.headers)
    assert missing.status_code == 422
    wrong = await client.request(
        "DELETE", "/users/me", json={"current_password": "not it"}, headers=user.headers
    )
    assert wrong.status_code == 403
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    gone = await client.request(
        "DELETE", "/users/me", json={"current_password": PASSWORD}, headers=user.headers
    )
    assert gone.status_code == 204
    assert (await client.get("/users/me", headers=user.headers)).status_code == 401


async def test_a_token_from_before_a_reseed_is_refused(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url) as client:
        user = await sign_up_with(client)
    async with connect(url) as conn:  # what `seed --truncate` does to the deployment
        await conn.execute("UPDATE deployment SET id = gen_random_uuid()")
    async with in_process(url) as client:
        assert (await client.get("/users/me", headers=user.headers)).status_code == 401


async def test_a_blog_written_while_its_owner_is_deleted_is_401(
    scratch_database: ScratchDatabase,
) -> None:
    url = await scratch_database()
    async with in_process(url, min_size=1, max_size=4) as client:
        user = await sign_up_with(client)
        async with connect(url) as conn, conn.transaction():
            # The deletion holds the row; the blog's foreign-key check waits for it, then fails.
            await conn.execute("DELETE FROM users WHERE id = $1", user.id)
            write = asyncio.create_task(
                client.post("/blogs", json={"title": "t", "body": "b"}, headers=user.headers)
            )
            await asyncio.sleep(0.3)
        answer = await write
    assert answer.status_code == 401, answer.text


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users", {"name": "", "email": "a@b.c", "password": "s3cr3t-but-short"[:7]}),
        ("POST", "/users", {"name": "A", "email": "bad", "password": "hunter2-hunter2"}),
        ("PATCH", "/users/me", {"password": "hunter2-hunter2"}),
        ("PATCH", "/users/me", {"password": "zq7", "current_password": "hunter2-hunter2"}),
    ],
)
async def test_a_422_never_echoes_a_password(
    client: AsyncClient, sign_up: SignUp, method: str, path: str, body: dict[str, str]
) -> None:
    user = await sign_up()
    answer = await client.request(method, path, json=body, headers=user.headers)
    assert answer.status_code == 422
    for secret in (body.get("password"), body.get("current_password")):
        if secret:
            assert secret not in answer.text


def test_a_short_token_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Settings(token_secret="changeme", _env_file=None)


async def test_a_hash_with_older_parameters_is_upgraded_at_login(
    client: AsyncClient, sign_up: SignUp, db: Connection
) -> None:
    user = await sign_up()
    older = Argon2Hasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    raw = await db.raw()
    await raw.execute("UPDATE users SET password_hash = $1 WHERE id = $2", older, user.id)
    assert (await _login(client, user.email)).status_code == 200
    stored = await raw.fetchval("SELECT password_hash FROM users WHERE id = $1", user.id)
    assert stored.startswith(f"$argon2id$v=19$m={ARGON2_MEMORY_KIB},t=2,p=1$")
    assert (await _login(client, user.email)).status_code == 200
