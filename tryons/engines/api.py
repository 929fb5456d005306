"""JSON calls to a provider's API through the outbound guard, with the provider's answers mapped to ours.

The provider's credentials go only to its configured API origin: a URL a provider hands back (fal's
status/response URLs, Replicate's `urls.get`) is called with them only if it is on that origin.
"""

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from infrastructure import outbound
from tryons.engines.base import EngineRejected, EngineThrottled, EngineUnavailable

# An API answer (not an image download) larger than this is refused; FASHN's base64 results are the largest.
API_MAX_BYTES = 48 * 1024 * 1024


def same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _message(body: bytes) -> str:
    """The provider's own words, from the error shapes FASHN ({error, message}), fal ({detail}) and Replicate
    ({title, detail}) document; never the whole body (it could echo our inputs)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = []
    for key in ("error", "title", "message", "detail", "error_type"):  # fal's request errors name a type
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("name")
        if isinstance(value, list):  # fal/pydantic validation errors
            value = "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in value
            )
        if value and str(value) not in parts:
            parts.append(str(value))
    return ": ".join(parts)[:300]


def _error_name(body: bytes) -> str:
    """The provider's name for the error, when its body says it in a string `error` (FASHN's shape)."""
    try:
        value = json.loads(body or b"null").get("error")
    except (ValueError, AttributeError):
        return ""
    return value[:60] if isinstance(value, str) else ""


# replicate.com/docs, "Rate limits": a 429's body is {"detail": "Request was throttled. Your rate limit
# resets in ~30s."}, with no header and no field saying when.
_RESETS_IN = re.compile(r"resets in ~?(\d+(?:\.\d+)?)\s*s\b")


def _retry_after(response, body: bytes) -> float | None:
    """Seconds to wait, as the provider says: Retry-After in seconds or as an HTTP date (RFC 9110, 10.2.3),
    else a `retry_after` field or Replicate's "resets in ~30s" in the body; None when it does not say."""
    header = response.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0.0, float(value))
    found = _RESETS_IN.search(str(data.get("detail") or ""))
    return float(found.group(1)) if found else None


def call(
    provider: str,
    method: str,
    url: str,
    *,
    headers: dict,
    timeout: float,
    payload: dict | None = None,
    retry_statuses: tuple[int, ...] = (),
) -> dict:
    """One API call; returns the JSON object answered. Raises EngineThrottled (429), EngineUnavailable
    (408, 5xx, `retry_statuses`, network, deadline) or EngineRejected (other 4xx, a non-JSON answer, a
    refused target)."""
    data = None
    headers = {"Accept": "application/json", **headers}
    if payload is not None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    try:
        response = outbound.request(
            method, url, headers=headers, data=data, timeout=timeout, max_response_bytes=API_MAX_BYTES
        )
    except outbound.OutboundBlocked as exc:
        raise EngineRejected(f"{provider}: API URL refused: {exc}") from None
    except outbound.OutboundRejected as exc:
        raise EngineRejected(f"{provider}: {exc}") from None
    except outbound.OutboundFailed as exc:
        raise EngineUnavailable(f"{provider}: {exc}") from None
    status, body = response.status_code, response.content
    if status == 429:
        raise EngineThrottled(
            f"{provider} throttled the request (HTTP 429) {_message(body)}".strip(),
            retry_after=_retry_after(response, body),
            reason=_error_name(body),
        )
    if status == 408 or status >= 500 or status in retry_statuses:
        raise EngineUnavailable(
            f"{provider} answered HTTP {status} {_message(body)}".strip(),
            status=status,
            headers={name.lower(): value for name, value in response.headers.items()},
        )
    if status >= 300:
        raise EngineRejected(f"{provider} answered HTTP {status} {_message(body)}".strip())
    if not body.strip():
        return {}
    try:
        answer = json.loads(body)
    except ValueError:
        raise EngineRejected(f"{provider} answered something that is not JSON.") from None
    if not isinstance(answer, dict):
        raise EngineRejected(f"{provider} answered JSON that is not an object.")
    return answer
