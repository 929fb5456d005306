"""Typed exceptions: every API error body is `{"error", "message", "code", "details", "requestId"}`."""

from __future__ import annotations

from typing import Any


class GarmaxError(Exception):
    """Base of every exception this package raises."""


class APIConnectionError(GarmaxError):
    """The request never got an answer (DNS, refused connection, timeout), after every retry."""


class WaitTimeout(GarmaxError):
    """`.wait()` gave up before the object reached a terminal status; `last` is what it read last."""

    def __init__(self, message: str, last: dict[str, Any] | None = None):
        super().__init__(message)
        self.last = last


class APIError(GarmaxError):
    """An error answer from the API, with the fields of its body and the request id to quote to support."""

    def __init__(
        self,
        *,
        error: str,
        message: str,
        code: int,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(f"{code} {error}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.error = error
        self.message = message
        self.code = code
        self.status = code
        self.details = details or {}
        self.request_id = request_id
        self.headers = headers or {}

    @property
    def requestId(self) -> str | None:  # noqa: N802 - the body's own spelling, as in the TypeScript SDK
        return self.request_id


class AuthenticationError(APIError):
    """401: the key is missing, wrong, revoked or expired."""


class PermissionDeniedError(APIError):
    """403 other than credits: the key lacks a scope (`InvalidScope`) or the action is forbidden."""


class InsufficientCreditsError(APIError):
    """403 `InsufficientCredits`: details carry `required` and `available`."""


class NotFoundError(APIError):
    """404 `ResourceNotFound` (another organization's object is a 404 too)."""


class ValidationError(APIError):
    """400 `ValidationError`: details name each field and what is wrong with it."""


class ConflictError(APIError):
    """409: the object's state forbids the action (or a request with this Idempotency-Key is in flight)."""


class IdempotencyError(APIError):
    """422 `IdempotencyKeyReused`: the same Idempotency-Key was sent with a different body."""


class RateLimitError(APIError):
    """429 `RateLimitExceeded`: `retry_after` is the seconds the API asked to wait."""

    @property
    def retry_after(self) -> float | None:
        return seconds_from_header(self.headers.get("retry-after"))


class ServerError(APIError):
    """5xx: the API failed; retried with backoff before this is raised."""


def seconds_from_header(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


_BY_NAME = {
    "InvalidApiKey": AuthenticationError,
    "InsufficientCredits": InsufficientCreditsError,
    "InvalidScope": PermissionDeniedError,
    "ResourceNotFound": NotFoundError,
    "ValidationError": ValidationError,
    "IdempotencyKeyReused": IdempotencyError,
    "RateLimitExceeded": RateLimitError,
}
_BY_STATUS = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: IdempotencyError,
    429: RateLimitError,
}


def error_from_response(status: int, body: Any, headers: dict[str, str]) -> APIError:
    """The typed exception for an error answer; a body that is not our error format still gives one."""
    if not isinstance(body, dict) or "error" not in body:
        body = {"error": "ApiError", "message": str(body)[:500] or f"HTTP {status}", "details": {}}
    name = str(body.get("error"))
    cls = _BY_NAME.get(name) or _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    details = body.get("details")
    return cls(
        error=name,
        message=str(body.get("message", "")),
        code=int(body.get("code") or status),
        details=details if isinstance(details, dict) else {},
        request_id=body.get("requestId") or headers.get("x-request-id"),
        headers=headers,
    )
