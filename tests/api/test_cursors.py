import pytest

from service.api.cursors import CursorCodec
from service.errors import InvalidCursor

codec = CursorCodec("secret")


def test_round_trip() -> None:
    cursor = codec.encode(1_732_550_000_123_456, 42)
    assert codec.decode(cursor, 2) == (1_732_550_000_123_456, 42)


def test_cursors_are_opaque_url_safe_text() -> None:
    cursor = codec.encode(2**62, 2**63 - 1)
    assert cursor.isascii()
    assert not set(cursor) & set("+/= &?%")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        ".",
        "abc",
        "a.b.c",
        "!!!.???",
        codec.encode(1, 2) + "A",
        codec.encode(1, 2)[1:],
        CursorCodec("another secret").encode(1, 2),
        "x" * 500,
    ],
)
def test_malformed_or_tampered_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, 2)


def test_a_cursor_of_another_shape_is_invalid() -> None:
    with pytest.raises(InvalidCursor, match="does not belong"):
        codec.decode(codec.encode(1), 2)


def test_a_signed_payload_that_is_not_integers_is_invalid() -> None:
    # Signed with the right key but not of our making: still refused.
    import base64
    import json

    payload = json.dumps([1.5, "x"]).encode()
    text = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(codec._sign(payload)).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        codec.decode(f"{text}.{signature}", 2)


def test_pairs_and_single_keys_decode_to_their_shape() -> None:
    assert codec.decode_pair(codec.encode(1_732_550_000_123_456, 42)) == (1_732_550_000_123_456, 42)
    assert codec.decode_one(codec.encode(7)) == 7
    with pytest.raises(InvalidCursor, match="does not belong"):
        codec.decode_one(codec.encode(1, 2))
    with pytest.raises(InvalidCursor, match="does not belong"):
        codec.decode_pair(codec.encode(7))
