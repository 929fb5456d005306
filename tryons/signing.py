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


def callback_signature_parse(header: str, *, now: float | None = None) -> tuple[int, str] | None:
    """(timestamp, hex digest) of a well-formed header at most five minutes old (replay window), else None.

    Needs no body: the callback view runs it before reading one, so a caller without a plausible, fresh
    signature never gets to send us megabytes.
    """
    parts = dict(part.strip().split("=", 1) for part in (header or "").split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return None
    digest = parts.get("v1", "")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return None
    return timestamp, digest


def callback_signature_valid(*, secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is at most five minutes old (replay window)."""
    parsed = callback_signature_parse(header, now=now)
    if not secret or parsed is None:
        return False
    timestamp, digest = parsed
    expected = callback_signature(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, digest)
