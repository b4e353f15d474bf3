"""Keyset keys as the service makes them: (created_at in microseconds since the epoch, id)."""

from datetime import UTC, datetime

from service.models import MAX_ID
from service.timestamps import from_micros, to_micros

__all__ = ["FIRST", "from_micros", "to_micros"]

# Sorts before every real key, so a first page runs the same statement as the others.
FIRST = (datetime.max.replace(tzinfo=UTC), MAX_ID)
