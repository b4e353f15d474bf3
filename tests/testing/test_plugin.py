"""The pytest plugin as a project built on the service meets it: loading it costs nothing,
pytest without httpx still runs, and the fixtures can be pointed at another app. (The rest of
the suite runs on its fixtures; tests/db/test_database.py proves their rollback, and
.ci/downstream-check runs a project of its own on the installed wheel.)"""

import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from service.api.app import create_app
from service.db.database import Database
from service.settings import Settings
from service.testing.app import AppFactory, settings_for
from service.testing.plans import plan_problems, prepared_plan
from service.testing.statements import statements_run

pytestmark = pytest.mark.anyio


def run_pytest(
    directory: Path, database_url: str, *, before: str = ""
) -> subprocess.CompletedProcess[str]:
    """pytest on `directory`'s tests in a process of its own, after running `before`."""
    script = (
        f"{before}\nimport pytest\nraise SystemExit(pytest.main(['-q', '-p', 'no:cacheprovider']))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=directory,
        env={"TEST_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_loading_the_plugin_imports_nothing_costly() -> None:
    # It loads in every pytest run of an environment that has the package.
    costly = ["asyncpg", "fastapi", "httpx", "pydantic", "sqlalchemy", "service.api", "service.db"]
    script = f"import sys, service.testing.plugin; print([m for m in {costly} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_without_httpx_only_the_fixtures_that_send_requests_fail(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:schemathesis\n")
    (tmp_path / "test_no_httpx.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.anyio

            async def test_db_works(raw):
                assert await raw.fetchval("SELECT count(*) FROM schema_migrations") > 0

            async def test_client_needs_httpx(client):
                pass
            """
        )
    )
    result = run_pytest(tmp_path, database_url, before="import sys; sys.modules['httpx'] = None")
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "this fixture sends requests with httpx, which is not installed" in result.stdout


def test_the_ini_option_names_the_app_the_fixtures_make(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\npythonpath = .\nblog_api_app = extended:make\n")
    (tmp_path / "extended.py").write_text(
        textwrap.dedent(
            """
            from service.api.app import create_app

            def make(settings, *, database):
                app = create_app(settings, database=database)
                app.add_api_route("/hello", lambda: {"hello": "world"})
                return app
            """
        )
    )
    (tmp_path / "test_extended.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.anyio

            async def test_its_own_endpoint(client):
                assert (await client.get("/hello")).json() == {"hello": "world"}

            async def test_and_the_service_s(client):
                assert (await client.get("/health")).status_code == 200
            """
        )
    )
    result = run_pytest(tmp_path, database_url)
    assert "2 passed" in result.stdout, result.stdout + result.stderr


class TestAnAppFactoryFixtureOfItsOwn:
    """A test module's `app_factory` and `app_settings` replace the plugin's."""

    @pytest.fixture
    def app_factory(self) -> AppFactory:
        def make(settings: Settings, *, database: Database) -> FastAPI:
            app = create_app(settings, database=database)

            async def whoami() -> dict[str, str]:
                return {"issuer": settings.token_issuer}

            app.add_api_route("/whoami", whoami)
            return app

        return make

    @pytest.fixture
    def app_settings(self, database_url: str) -> Settings:
        return settings_for(database_url, token_issuer="extended")

    async def test_the_app_is_the_factory_s(self, client: AsyncClient) -> None:
        response = await client.get("/whoami")
        assert response.json() == {"issuer": "extended"}


async def test_the_statement_counter_sees_the_app_s_statements(
    client: AsyncClient, raw: asyncpg.Connection
) -> None:
    async with statements_run(raw) as statements:
        await raw.execute("SELECT 1")
        await client.get("/tags")
    assert len(statements) == 2, statements
    assert statements[0] == "SELECT 1"
    assert "FROM tags" in statements[1]


async def test_the_plan_check_names_a_sequential_scan(raw: asyncpg.Connection) -> None:
    # Without an index to walk, a search by body must read every blog.
    plan = await prepared_plan(
        raw, "SELECT id FROM blogs WHERE body = $1", ["b"], name="plugin_seq_scan"
    )
    assert plan_problems(plan, {"blogs"}) == ["sequential scan of blogs"]
    # A table never analysed may be read whole for any filter; with sequential scans priced out,
    # the primary key's index is what the check must let pass.
    await raw.execute("SET LOCAL enable_seqscan = off")
    by_id = await prepared_plan(raw, "SELECT id FROM blogs WHERE id = $1", [1], name="plugin_by_id")
    assert plan_problems(by_id, {"blogs"}) == []
