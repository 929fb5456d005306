"""The request being served, for log lines and error bodies: its id and, once authenticated, its caller."""

from contextvars import ContextVar

# The longest X-Request-Id taken from a caller (api/middleware.py); the request log keeps it whole.
REQUEST_ID_MAX_LENGTH = 128

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# (organization id, API key id) of a partner request once its key is admitted; never the key itself.
_principal: ContextVar[tuple[str, str] | None] = ContextVar("principal", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def current_principal() -> tuple[str, str] | None:
    return _principal.get()


def set_principal(*, organization_id: str, key_id: str) -> None:
    """Called by the API key authentication; RequestIdMiddleware clears it when the request ends."""
    _principal.set((organization_id, key_id))


def clear_principal() -> None:
    _principal.set(None)
