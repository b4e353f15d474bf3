"""Facts about this checkout and its schema that tests compare against."""

from pathlib import Path

import sqlalchemy as sa

from service.db.tables import metadata

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The pool's application_name: how tests find the service's connections in pg_stat_activity.
APP_NAME = "blog-api"

# Every index PostgreSQL builds for our schema: primary keys, unique constraints and indexes.
OUR_INDEXES = {
    name
    for table in metadata.tables.values()
    for name in [
        # The read cache's queue has no primary key.
        *([table.primary_key.name] if table.primary_key.columns else []),
        *(index.name for index in table.indexes),
        *(c.name for c in table.constraints if isinstance(c, sa.UniqueConstraint)),
    ]
}
