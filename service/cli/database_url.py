import os
import sys

from service.db import embedded
from service.settings import Settings


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or a started embedded server's URL, exported for worker processes."""
    if settings.database_url:
        return settings.database_url
    data_dir = settings.embedded_data_dir.resolve()
    print(
        f"DATABASE_URL is not set: starting PostgreSQL in {data_dir}",
        file=sys.stderr,
    )
    url = embedded.start(data_dir)
    os.environ["DATABASE_URL"] = url
    return url
