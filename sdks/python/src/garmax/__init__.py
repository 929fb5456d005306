"""GarmaxAI Enterprise API client: `Garmax(api_key=…)`, typed errors, webhook verification."""

from . import webhooks
from .client import DEFAULT_BASE_URL, Garmax, key_mode
from .errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConflictError,
    GarmaxError,
    IdempotencyError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeout,
)
from .pagination import ListIterator
from .resources import CART_TRYON_TERMINAL_STATUSES, TRYON_TERMINAL_STATUSES
from .version import __version__
from .webhooks import WebhookVerificationError

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "CART_TRYON_TERMINAL_STATUSES",
    "ConflictError",
    "DEFAULT_BASE_URL",
    "Garmax",
    "GarmaxError",
    "IdempotencyError",
    "InsufficientCreditsError",
    "ListIterator",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TRYON_TERMINAL_STATUSES",
    "ValidationError",
    "WaitTimeout",
    "WebhookVerificationError",
    "__version__",
    "key_mode",
    "webhooks",
]
