import logging
import os

from service.cli.errors import CommandError
from service.db import embedded
from service.settings import Settings

logger = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or a started embedded server's URL, exported for worker processes."""
    if settings.database_url:
        return settings.database_url
    data_dir = settings.embedded_data_dir.resolve()
    logger.info("DATABASE_URL is not set: starting PostgreSQL in %s", data_dir)
    url = embedded.start(data_dir)
    os.environ["DATABASE_URL"] = url
    return url


def direct_url(settings: Settings, url: str | None = None) -> str:
    """Where session-level work goes (migrations hold an advisory lock; seed and maintenance set
    session options): DATABASE_DIRECT_URL, or DATABASE_URL (`url`, when already resolved) when
    no pooler sits in between."""
    if settings.database_direct_url:
        return settings.database_direct_url
    if settings.db_pooler != "none":
        raise CommandError(
            f"DB_POOLER={settings.db_pooler}: set DATABASE_DIRECT_URL to the PostgreSQL server "
            "itself; migrations, seed and sql need a session a transaction pooler cannot keep"
        )
    return url or database_url(settings)
