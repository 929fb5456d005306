"""`Idempotency-Key` on POST: the first response is replayed for 24 h to the same caller.

Records live in the shared cache (Redis in production), scoped to the caller's organization or user so one
tenant's key never replays another's response. A lock marks a request in flight, so a concurrent duplicate
gets a 409 instead of doing the work twice.
"""

import hashlib

from django.core.cache import cache
from rest_framework import exceptions as drf

from config.errors import Conflict, IdempotencyKeyReused, ValidationError

REPLAY_TTL_SECONDS = 24 * 3600
LOCK_TTL_SECONDS = 120
HEADER = "Idempotency-Key"


class IdempotentReplay(drf.APIException):
    """Raised to short-circuit a request with its stored first response (rendered by the error handler)."""

    def __init__(self, stored: dict):
        self.stored = stored
        super().__init__()


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
        if not 1 <= len(key) <= 255:
            raise ValidationError(details={HEADER: ["Idempotency-Key must be 1 to 255 characters."]})
        cache_key = "idem:" + hashlib.sha256(f"{_owner(request)}|{key}".encode()).hexdigest()
        fingerprint = _fingerprint(request)
        stored = cache.get(cache_key)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused(details={"idempotencyKey": key})
            raise IdempotentReplay(stored)
        if not cache.add(cache_key + ":lock", 1, LOCK_TTL_SECONDS):
            raise Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly.",
                details={"idempotencyKey": key},
            )
        self._idempotency = (cache_key, fingerprint)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        pending = getattr(self, "_idempotency", None)
        if pending:
            cache_key, fingerprint = pending
            self._idempotency = None
            # 5xx are not stored: the partner should be able to retry a failure of ours.
            if response.status_code < 500:
                stored = {
                    "fingerprint": fingerprint,
                    "status": response.status_code,
                    "data": response.data,
                    "headers": {h: response[h] for h in ("Location",) if response.has_header(h)},
                }
                cache.set(cache_key, stored, REPLAY_TTL_SECONDS)
            cache.delete(cache_key + ":lock")
        return response
