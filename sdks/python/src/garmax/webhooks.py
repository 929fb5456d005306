"""Verifying webhook deliveries, on the raw request body (the bytes as received, before any JSON parsing).

Every delivery is signed two ways:
- Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>` per secret in
  use, space separated) over `"{id}.{timestamp}.{body}"`, keyed by the base64 part of `whsec_…`; the
  timestamp must be within `tolerance` seconds of now, which rejects replays.
- The partner API reference's `X-Webhook-Signature`: hex HMAC-SHA256 of the body keyed by the whole secret
  string; during a rotation `X-Webhook-Signature-Previous` carries the same with the previous secret.

During a rotation (`webhooks.rotate_secret`) the old secret keeps signing beside the new one for 24 hours:
pass both secrets (`secret=[new, old]`) until every server has the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import GarmaxError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(GarmaxError):
    """The delivery's signature does not match any given secret, or its timestamp is outside the tolerance."""


def _secrets(secret: str | Iterable[str]) -> list[str]:
    found = [secret] if isinstance(secret, str) else list(secret)
    if not found or not all(isinstance(s, str) and s for s in found):
        raise ValueError("secret must be a webhook secret (whsec_…) or a list of them")
    return found


def _raw(body: bytes | str) -> bytes:
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError("pass the raw request body (bytes or str), not parsed JSON: re-serializing changes it")


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        return json.loads(raw)
    except ValueError as failure:
        raise WebhookVerificationError("the body is not JSON") from failure


def sign_hex(body: bytes | str, secret: str) -> str:
    """The `X-Webhook-Signature` value for `body` (what the API sends; useful in your own tests)."""
    return hmac.new(secret.encode(), _raw(body), hashlib.sha256).hexdigest()


def sign_standard(body: bytes | str, secret: str, *, message_id: str, timestamp: int) -> str:
    """A Standard Webhooks `webhook-signature` value (`v1,<base64>`) for one secret."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as failure:
        raise ValueError("a webhook secret is whsec_ followed by base64") from failure
    signed = f"{message_id}.{timestamp}.".encode() + _raw(body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify_hex(body: bytes | str, headers: Mapping[str, str], secret: str | Iterable[str]) -> dict[str, Any]:
    """Check `X-Webhook-Signature` (or, mid-rotation, `X-Webhook-Signature-Previous`) against each secret;
    the parsed event if one matches, WebhookVerificationError otherwise."""
    raw, given = _raw(body), _headers(headers)
    signatures = [
        given[name] for name in ("x-webhook-signature", "x-webhook-signature-previous") if name in given
    ]
    if not signatures:
        raise WebhookVerificationError("no X-Webhook-Signature header")
    for candidate in _secrets(secret):
        expected = sign_hex(raw, candidate)
        if any(hmac.compare_digest(expected, signature.strip()) for signature in signatures):
            return _parse(raw)
    raise WebhookVerificationError("X-Webhook-Signature matches none of the secrets given")


def verify_standard(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """Check the Standard Webhooks headers: a fresh timestamp and a `v1` signature by one of the secrets."""
    raw, given = _raw(body), _headers(headers)
    try:
        message_id, timestamp_text, signature_header = (
            given["webhook-id"],
            given["webhook-timestamp"],
            given["webhook-signature"],
        )
    except KeyError as missing:
        raise WebhookVerificationError(f"no {missing.args[0]} header") from None
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            "webhook-timestamp is outside the tolerance (a replay, or a skewed clock)"
        )
    offered = [part for part in signature_header.split() if part.startswith("v1,")]
    for candidate in _secrets(secret):
        expected = sign_standard(raw, candidate, message_id=message_id, timestamp=timestamp)
        if any(hmac.compare_digest(expected, signature) for signature in offered):
            return _parse(raw)
    raise WebhookVerificationError("webhook-signature matches none of the secrets given")


def construct_event(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Iterable[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """The verified event: by Standard Webhooks when its headers are there (replay protection), else by
    the hex signature. Raises WebhookVerificationError when the delivery is not ours."""
    if "webhook-signature" in _headers(headers):
        return verify_standard(body, headers, secret, tolerance=tolerance)
    return verify_hex(body, headers, secret)
