"""Opaque, signed keyset cursors.

A cursor is the sort key of the last row on a page, as JSON, base64url-encoded and signed with an
HMAC so a client can neither forge nor edit one; anything else is an `InvalidCursor`.
"""

import base64
import binascii
import hashlib
import hmac
import json

from service.errors import InvalidCursor
from service.keys import derive_key

_SIGNATURE_BYTES = 16
_MAX_LENGTH = 200


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = derive_key(secret, "page cursors")

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, *key: int) -> str:
        payload = json.dumps(key, separators=(",", ":")).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, cursor: str, size: int) -> tuple[int, ...]:
        """The sort key of `size` integers inside a cursor made by `encode`."""
        try:
            if len(cursor) > _MAX_LENGTH:
                raise ValueError
            payload_text, signature_text = cursor.split(".")
            payload = _b64decode(payload_text)
            if not hmac.compare_digest(self._sign(payload), _b64decode(signature_text)):
                raise ValueError
            key = json.loads(payload)
        except (ValueError, binascii.Error, UnicodeError):
            raise InvalidCursor("the cursor is not valid; pass a next_cursor unchanged") from None
        if (
            not isinstance(key, list)
            or len(key) != size
            or not all(type(value) is int for value in key)
        ):
            raise InvalidCursor("the cursor does not belong to this listing")
        return tuple(key)

    def decode_pair(self, cursor: str) -> tuple[int, int]:
        first, second = self.decode(cursor, 2)
        return first, second

    def decode_one(self, cursor: str) -> int:
        return self.decode(cursor, 1)[0]
