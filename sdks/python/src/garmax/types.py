"""The API's objects as TypedDicts, generated from the OpenAPI document (sdks/generate.py): answers are plain
dicts at run time, so a field or status added to the API never breaks a client; these names type them."""

from ._generated.models import *  # noqa: F403
from ._generated.models import (
    Account,
    CartItemRequest,
    CartItemResult,
    CartTryOnCreateRequest,
    CartTryOnSession,
    CreditLedgerEntry,
    Customer,
    Photo,
    TryOn,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
)

__all__ = [
    "Account",
    "CartItemRequest",
    "CartItemResult",
    "CartTryOnCreateRequest",
    "CartTryOnSession",
    "CreditLedgerEntry",
    "Customer",
    "Photo",
    "TryOn",
    "Webhook",
    "WebhookCreated",
    "WebhookDelivery",
]
