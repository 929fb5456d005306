"""`Idempotency-Key` on POST: the first response is replayed for 24 h to the same caller.

Records live in the shared cache (Redis in production), scoped to the caller's organization or user so one
tenant's key never replays another's response. A lock marks a request in flight, so a concurrent duplicate
gets a 409 instead of doing the work twice.

Stored responses never hold a credential: an API key or webhook secret shown once at creation is replaced
by a redacted marker before the record is written (it would otherwise sit in Redis for 24 h), and the
replay says so in `Idempotent-Replay-Redacted`.
"""

import hashlib
import re

from django.core.cache import cache
from rest_framework import exceptions as drf
from rest_framework.response import Response

from api.credentials import API_KEY_PREFIX_PATTERN, WEBHOOK_SECRET_PREFIX
from api.errors import Conflict, IdempotencyKeyReused, ShortCircuit, ValidationError

REPLAY_TTL_SECONDS = 24 * 3600
LOCK_TTL_SECONDS = 120
HEADER = "Idempotency-Key"
# Visible ASCII (UUIDs, order ids, base64), inner spaces allowed, 1-255 characters. A proxy strips outer
# whitespace and may mangle other bytes, so a key made of them would not reach us as it was sent;
# api/schema.py publishes this same rule.
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
REDACTED_HEADER = "Idempotent-Replay-Redacted"

# Credentials a response may carry once: API keys (gx_live_/gx_test_) and webhook secrets (whsec_). A
# key's public keyPrefix (gx_live_ and 8 characters) is too short to match and stays as it is.
_CREDENTIAL = re.compile(rf"^({API_KEY_PREFIX_PATTERN}|{re.escape(WEBHOOK_SECRET_PREFIX)})\S{{16,}}$")


class IdempotentReplay(ShortCircuit):
    """Raised to short-circuit a request with its stored first response (rendered by the error handler)."""

    def __init__(self, stored: dict):
        self.stored = stored
        super().__init__()

    def response(self) -> Response:
        stored = self.stored
        return Response(
            stored["data"],
            status=stored["status"],
            headers={**stored["headers"], "Idempotent-Replayed": "true"},
        )


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        # Never pull an upload into memory just to fingerprint it: hash fields and file chunks.
        for name in sorted(request.data.keys()):
            for value in request.data.getlist(name):
                digest.update(name.encode())
                if hasattr(value, "chunks"):
                    for chunk in value.chunks():
                        digest.update(chunk)
                    value.seek(0)
                else:
                    digest.update(str(value).encode())
    else:
        digest.update(request._request.body)
    return digest.hexdigest()


def _redacted(data, redacted_fields: list[str], path: str = ""):
    """A copy of `data` with every credential string replaced by its kind and `[redacted]`."""
    if isinstance(data, dict):
        return {
            key: _redacted(value, redacted_fields, f"{path}.{key}" if path else str(key))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_redacted(value, redacted_fields, f"{path}[{index}]") for index, value in enumerate(data)]
    if isinstance(data, str):
        match = _CREDENTIAL.match(data)
        if match:
            redacted_fields.append(path)
            return f"{match.group(1)}[redacted]"
    return data


def _owner(request) -> str:
    organization_id = getattr(request.auth, "organization_id", None)
    if organization_id:
        return f"org:{organization_id}"
    user = getattr(request, "user", None)
    return f"user:{getattr(user, 'pk', None)}"


class IdempotentPostMixin:
    """Mix into every API view that accepts POST."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency = None
        if request.method != "POST":  # before reading headers: building request.headers costs a GET
            return
        key = request.headers.get(HEADER)
        if key is None:
            return
        if not _KEY.match(key):
            raise ValidationError(
                details={
                    HEADER: [
                        "Idempotency-Key must be 1 to 255 visible ASCII characters (inner spaces allowed), "
                        "e.g. a UUID."
                    ]
                }
            )
        cache_key = "idem:" + hashlib.sha256(f"{self.idempotency_scope(request)}|{key}".encode()).hexdigest()
        fingerprint = _fingerprint(request)
        self._replay_if_stored(cache_key, key, fingerprint)
        if not cache.add(cache_key + ":lock", 1, LOCK_TTL_SECONDS):
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                details={"idempotencyKey": key},
            )
        # Read again now that the lock is ours: a first request that finished between the read above and
        # the lock stored its response and released the lock, and must not be done a second time.
        try:
            self._replay_if_stored(cache_key, key, fingerprint)
        except drf.APIException:
            cache.delete(cache_key + ":lock")
            raise
        self._idempotency = (cache_key, fingerprint)

    def idempotency_scope(self, request) -> str:
        """Whose keys a key is compared with: the caller's organization (API keys) or user (JWT). A view may
        widen it where several callers act for one thing (top-ups: the organization)."""
        return _owner(request)

    @staticmethod
    def _replay_if_stored(cache_key: str, key: str, fingerprint: str) -> None:
        stored = cache.get(cache_key)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused(details={"idempotencyKey": key})
            raise IdempotentReplay(stored)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        pending = getattr(self, "_idempotency", None)
        if pending:
            cache_key, fingerprint = pending
            self._idempotency = None
            # 5xx are not stored: the partner should be able to retry a failure of ours.
            if response.status_code < 500:
                redacted_fields: list[str] = []
                stored = {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "data": _redacted(response.data, redacted_fields),
                    "headers": {h: response[h] for h in ("Location",) if response.has_header(h)},
                }
                if redacted_fields:
                    stored["headers"][REDACTED_HEADER] = ", ".join(redacted_fields)
                cache.set(cache_key, stored, REPLAY_TTL_SECONDS)
            cache.delete(cache_key + ":lock")
        return response
