import hashlib
import hmac


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose (tokens, cursors) from the one configured secret, HMAC-SHA256 as
    the key derivation: one signed value can never serve as an oracle for another's key."""
    return hmac.new(secret.encode(), f"blog-api {purpose}".encode(), hashlib.sha256).digest()
