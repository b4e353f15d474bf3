import os
import re

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.utils import PROJECT_ROOT


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
