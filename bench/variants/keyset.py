"""Keyset keys as the service makes them: (created_at in microseconds since the epoch, id)."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Sorts before every real key, so a first page runs the same statement as the others.
FIRST = (datetime.max.replace(tzinfo=UTC), 2**63 - 1)


def to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND
