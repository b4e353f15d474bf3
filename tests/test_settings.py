import os
import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings, is_loopback
from tests.support.project import PROJECT_ROOT


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_need_no_environment() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url is None
    assert settings.db_pool_max_size == 10
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.access_log is False


def test_an_unset_token_secret_is_random_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    first, second = Settings(_env_file=None), Settings(_env_file=None)
    assert len(first.token_secret) >= 32
    assert first.token_secret != second.token_secret
    first.warn_about_random_secret()
    assert "TOKEN_SECRET is not set" in caplog.text


def test_a_given_token_secret_is_kept_quietly(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(token_secret="s" * 32, _env_file=None)
    settings.warn_about_random_secret()
    assert settings.token_secret == "s" * 32
    assert caplog.text == ""


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/d")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "3")
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "1")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://u@h/d"
    assert (settings.db_pool_min_size, settings.db_pool_max_size) == (1, 3)


def test_a_pool_whose_minimum_exceeds_its_maximum_is_refused() -> None:
    with pytest.raises(ValidationError, match="DB_POOL_MIN_SIZE must not exceed"):
        Settings(db_pool_min_size=5, db_pool_max_size=2, _env_file=None)


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("database_url", "postgresql://u@h:abc/d"),
        ("database_url", "postgresql://u@h1:5432,h2:99999/d"),
        ("database_url", "mysql://u@h/d"),
        ("database_direct_url", "postgresql://u@[::1]:x/d"),
        ("database_replica_urls", "postgresql://u@r1/d, postgresql://u@r2:-1/d"),
    ],
)
def test_a_database_url_that_cannot_be_connected_with_is_refused(name: str, url: str) -> None:
    with pytest.raises(ValidationError, match=r"port of|must be a postgresql:// URL"):
        Settings(**{name: url}, _env_file=None)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p%40ss@h:5432/d",
        "postgres://u@h1:5432,h2/d?target_session_attrs=read-write",
        "postgresql+asyncpg://u@[::1]:5433/d",
        "postgresql:///d?host=/var/run/postgresql",
    ],
)
def test_database_urls_as_libpq_takes_them_are_accepted(url: str) -> None:
    assert Settings(database_url=url, _env_file=None).database_url == url


def test_every_setting_is_documented_in_env_example() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= documented


@pytest.mark.parametrize("workers", ["0", "-1", "many"])
def test_workers_are_a_positive_number_or_auto(workers: str) -> None:
    with pytest.raises(ValidationError):
        Settings(workers=workers, _env_file=None)


def test_auto_workers_are_one_per_core() -> None:
    assert Settings(workers="auto", _env_file=None).worker_count == (os.cpu_count() or 1)
    assert Settings(workers=3, _env_file=None).worker_count == 3


def test_env_example_copied_as_it_is_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `cp .env.example .env` gives the service, which reads `.env` where it starts.
    shutil.copy(PROJECT_ROOT / ".env.example", tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    from_file = Settings().model_dump(exclude={"token_secret"})
    assert from_file == Settings(_env_file=None).model_dump(exclude={"token_secret"})


def test_an_empty_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "")
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("WORKERS", "")
    settings = Settings(_env_file=None)
    assert settings.password_hash_concurrency == (os.cpu_count() or 1)
    assert settings.database_url is None
    assert settings.worker_count == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_secrets(host: str) -> None:
    assert is_loopback(host)
    assert Settings(_env_file=None).refusals_on(host) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "api.example.com"])  # noqa: S104
def test_other_hosts_need_a_token_secret_and_a_metrics_token(host: str) -> None:
    assert not is_loopback(host)
    secret = "s" * 32
    assert [r.split()[0] for r in Settings(_env_file=None).refusals_on(host)] == [
        "TOKEN_SECRET",
        "METRICS_TOKEN",
    ]
    assert (
        Settings(token_secret=secret, metrics_token=secret, _env_file=None).refusals_on(host) == []
    )
    assert (
        Settings(token_secret=secret, metrics_enabled=False, _env_file=None).refusals_on(host) == []
    )
