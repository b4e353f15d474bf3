"""Timestamps as integer microseconds since the epoch: exact, compact, and easy to compare."""

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Raises OverflowError outside the range of `datetime`."""
    return _EPOCH + micros * _MICROSECOND
