"""Webhook bodies and signatures.

Seed 001 tells partners to verify with `HMAC(secret, JSON.stringify(req.body))` after express has parsed the
body, so the bytes we sign must be exactly what Node's JSON.stringify would print for the parsed value:
no whitespace, JavaScript's number formatting (`1` not `1.0`, `1e+21`, `1e-7`), integer-like keys first in
ascending order (JavaScript objects enumerate them that way), non-ASCII left as UTF-8 and lone surrogates
escaped. `encode_json` produces that form; Python's json module alone does not.

Alongside, the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) let
partners verify with stock libraries and reject replays.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
from decimal import Decimal

from api.credentials import WEBHOOK_SECRET_PREFIX as SECRET_PREFIX

SECRET_BYTES = 32
_MAX_SAFE_INTEGER = 2**53
_ARRAY_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")
_ARRAY_INDEX_MAX = 2**32 - 2
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key Standard Webhooks uses: the base64 part of `whsec_…`, decoded."""
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("Webhook secret is not whsec_ followed by base64.") from None


def _js_number(value: float) -> str:
    """ECMAScript Number::toString for a finite double (both use the shortest round-tripping digits)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("JSON cannot carry NaN or Infinity.")
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + exponent  # value = 0.digits × 10^n
    prefix = "-" if sign else ""
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"
    return prefix + text


def _js_string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _js_key_order(keys):
    """JavaScript enumerates array-index keys first, numerically, then the rest in insertion order."""
    indexes = sorted((k for k in keys if _ARRAY_INDEX.match(k) and int(k) <= _ARRAY_INDEX_MAX), key=int)
    index_set = set(indexes)
    return indexes + [k for k in keys if k not in index_set]


def _encode(value, out: list) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        # Beyond 2^53 JavaScript only has the nearest double; print what it would.
        out.append(str(value) if abs(value) <= _MAX_SAFE_INTEGER else _js_number(float(value)))
    elif isinstance(value, (float, Decimal)):
        out.append(_js_number(float(value)))
    elif isinstance(value, str):
        out.append(_js_string(value))
    elif isinstance(value, dict):
        keys = [str(k) for k in value]
        if len(set(keys)) != len(keys):
            raise ValueError("Object keys collide once converted to strings.")
        by_key = {str(k): v for k, v in value.items()}
        out.append("{")
        for position, key in enumerate(_js_key_order(keys)):
            if position:
                out.append(",")
            out.append(_js_string(key))
            out.append(":")
            _encode(by_key[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for position, item in enumerate(value):
            if position:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable in a webhook body.")


def encode_json(value) -> str:
    """Serialize `value` exactly as `JSON.stringify(JSON.parse(...))` would print it."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def body_bytes(value) -> bytes:
    # surrogatepass is never needed: lone surrogates were escaped above.
    return encode_json(value).encode("utf-8")


def signature_hex(*, secret: str, body: bytes) -> str:
    """Seed 001's `X-Webhook-Signature`: hex HMAC-SHA256 of the raw body keyed by the secret string."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_standard(*, secrets_in_use: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks `webhook-signature`: `v1,<base64>` per active secret, space separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets_in_use:
        digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)
