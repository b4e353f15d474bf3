import ipaddress
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.db.urls import split_urls, url_problem

logger = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
SECRET_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105
_CONFIG_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Settings(BaseSettings):
    """Every setting, from the environment or `.env`; `.env.example` documents each one."""

    # An empty value means unset (the default), so `.env.example` can be copied as it is.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    database_url: str | None = None
    # The server itself, for what a transaction pooler cannot carry: migrations (a session
    # advisory lock), seeding and maintenance. Defaults to DATABASE_URL.
    database_direct_url: str | None = None
    db_pooler: Literal["none", "pgbouncer"] = "none"
    database_replica_urls: str = ""
    replica_max_lag: float = Field(default=5.0, gt=0)
    replica_check_seconds: float = Field(default=1.0, gt=0)
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_acquire_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=5_000, ge=0)
    db_command_timeout: float = Field(default=10.0, gt=0)

    token_secret: str = ""
    token_expire_minutes: int = Field(default=60, ge=1)
    token_issuer: str = Field(default="blog-api", min_length=1)

    password_hash_concurrency: int = Field(default=os.cpu_count() or 1, ge=1)
    password_hash_wait_seconds: float = Field(default=2.0, gt=0)

    signup_window_seconds: float = Field(default=3600, gt=0)
    signup_max_per_address: int = Field(default=20, ge=1)
    write_window_seconds: float = Field(default=60, gt=0)
    write_max_per_user: int = Field(default=60, ge=1)
    login_failure_window_seconds: float = Field(default=60, gt=0)
    login_max_failures_per_account_and_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=50, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)

    search_config: str = "simple"

    read_cache: bool = True
    read_cache_max_mb: int = Field(default=64, ge=1)
    read_cache_max_age_seconds: float = Field(default=60.0, gt=0)
    read_cache_announce_seconds: float = Field(default=0.01, gt=0, le=1)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_body_bytes_in_flight: int = Field(default=64 * 1024 * 1024, ge=1)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_headers: int = Field(default=100, ge=10)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    forwarded_allow_ips: str = ""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int | Literal["auto"] = 1
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["auto", "json", "text"] = "auto"
    access_log: bool = False
    slow_request_ms: int = Field(default=1000, ge=1)
    slow_statement_ms: int = Field(default=500, ge=1)
    metrics_enabled: bool = True
    metrics_token: str = ""
    migrate_on_start: bool = True
    embedded_data_dir: Path = Path(".pgdata") / "server"

    _random_token_secret: bool = PrivateAttr(default=False)

    @field_validator("token_secret")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        if value and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_SECRET_BYTES} bytes; make one with: {SECRET_RECIPE}"
            )
        return value

    @field_validator("database_url", "database_direct_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("database_replica_urls")
    @classmethod
    def _replica_urls(cls, value: str) -> str:
        for url in split_urls(value):
            if problem := url_problem(url):
                raise ValueError(problem)
        return value

    @field_validator("search_config")
    @classmethod
    def _config_name(cls, value: str) -> str:
        if not _CONFIG_NAME.match(value):
            raise ValueError("must name a PostgreSQL text search configuration, e.g. simple")
        return value

    @model_validator(mode="after")
    def _fill_token_secret(self) -> "Settings":
        if not self.token_secret:
            self.token_secret = secrets.token_urlsafe(MIN_SECRET_BYTES)
            self._random_token_secret = True
        return self

    def refusals_on(self, host: str) -> list[str]:
        """Why the service must not listen on `host` with these settings: off the loopback
        interface, a random token secret would log users out at every restart and differ
        between machines, and metrics would be public."""
        if is_loopback(host):
            return []
        refusals = []
        if self._random_token_secret:
            refusals.append(
                f"TOKEN_SECRET must be set to listen on {host} (not a loopback address); "
                f"make one with: {SECRET_RECIPE}"
            )
        if self.metrics_enabled and not self.metrics_token:
            refusals.append(
                f"METRICS_TOKEN must be set to listen on {host} with metrics on "
                f"(or METRICS_ENABLED=false); make one with: {SECRET_RECIPE}"
            )
        return refusals

    def warn_about_random_secret(self) -> None:
        if self._random_token_secret:
            logger.warning(
                "TOKEN_SECRET is not set: using a random one, so tokens and page cursors "
                "do not survive a restart."
            )

    @field_validator("workers", mode="before")
    @classmethod
    def _some_workers(cls, value: object) -> int | str:
        # Before the union's own checks, whose error lists each of its members' complaints.
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        if not text.isdigit() or int(text) < 1:
            got = str(value)[:40]
            raise ValueError(
                f"must be a whole number, 1 or more, or auto (one per CPU core); got {got!r}"
            )
        return int(text)

    @property
    def worker_count(self) -> int:
        return (os.cpu_count() or 1) if self.workers == "auto" else int(self.workers)

    @property
    def replica_urls(self) -> list[str]:
        return split_urls(self.database_replica_urls)

    @model_validator(mode="after")
    def _check_pool(self) -> "Settings":
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        return self


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address
