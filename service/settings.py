import logging
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = None
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_acquire_timeout: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=5_000, ge=0)
    db_command_timeout: float = Field(default=10.0, gt=0)

    token_secret: str = ""
    token_expire_minutes: int = Field(default=60, ge=1)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    login_failure_window_seconds: float = Field(default=60, gt=0)
    login_max_failures_per_account_and_address: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=50, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    access_log: bool = False
    migrate_on_start: bool = True
    embedded_data_dir: Path = Path(".pgdata") / "server"

    _random_token_secret: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _fill_token_secret(self) -> "Settings":
        if not self.token_secret:
            self.token_secret = secrets.token_urlsafe(32)
            self._random_token_secret = True
        return self

    def warn_about_random_secret(self) -> None:
        if self._random_token_secret:
            logger.warning(
                "TOKEN_SECRET is not set: using a random one, so tokens and page cursors "
                "do not survive a restart."
            )

    @model_validator(mode="after")
    def _check_pool(self) -> "Settings":
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        return self
