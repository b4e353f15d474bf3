"""What `serve` needs to start: nothing on loopback (a copy of `.env.example` will do), a token
secret and a metrics token anywhere else, refused before it touches a database or a port."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import SECRET_RECIPE, Settings
from service.testing.databases import ScratchDatabase
from tests.support.project import PROJECT_ROOT
from tests.support.servers import serving

pytestmark = pytest.mark.anyio

# Nothing listens on port 1: without the refusal, serve would stop at the database instead.
NOWHERE = "postgresql://postgres@127.0.0.1:1/nowhere"


async def test_a_copy_of_env_example_as_dotenv_serves(scratch_database: ScratchDatabase) -> None:
    url = await scratch_database()
    dotenv = (PROJECT_ROOT / ".env.example").read_text()
    # The environment names only the database; TOKEN_SECRET is unset, as in the quick start.
    async with (
        serving(url, dotenv=dotenv, TOKEN_SECRET="") as server,
        server.client(timeout=10) as client,
    ):
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200


def _serve_on(host: str, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env |= {"PYTHONPATH": str(PROJECT_ROOT), "DATABASE_URL": NOWHERE, **settings}
    return subprocess.run(
        [sys.executable, "-m", "service", "serve", "--host", host, "--port", "1"],
        cwd=tmp_path,  # no stray .env
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_public_host_without_a_token_secret_is_refused(tmp_path: Path) -> None:
    result = _serve_on("0.0.0.0", tmp_path, METRICS_ENABLED="false")  # noqa: S104
    assert result.returncode == 1
    assert result.stderr.startswith("error: TOKEN_SECRET must be set to listen on 0.0.0.0")
    assert SECRET_RECIPE in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_public_host_with_metrics_and_no_metrics_token_is_refused(tmp_path: Path) -> None:
    result = _serve_on("0.0.0.0", tmp_path, TOKEN_SECRET="s" * 32)  # noqa: S104
    assert result.returncode == 1
    assert result.stderr.startswith("error: METRICS_TOKEN must be set to listen on 0.0.0.0")
    assert "METRICS_ENABLED=false" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
