"""HMAC signatures on renderer callbacks: `X-Garmax-Signature: t=<unix>,v1=<hex>` over "<t>.<raw body>"."""

import hashlib
import hmac
import time

HEADER = "X-Garmax-Signature"
TOLERANCE_SECONDS = 300


def callback_signature(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def callback_signature_valid(*, secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is at most five minutes old (replay window)."""
    if not secret or not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = callback_signature(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
