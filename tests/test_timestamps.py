from datetime import UTC, datetime

import pytest

from service.timestamps import from_micros, to_micros


def test_timestamps_survive_to_the_microsecond() -> None:
    moment = datetime(2026, 11, 25, 17, 30, 1, 123456, tzinfo=UTC)
    assert from_micros(to_micros(moment)) == moment


def test_an_out_of_range_timestamp_overflows() -> None:
    with pytest.raises(OverflowError):
        from_micros(2**62)
