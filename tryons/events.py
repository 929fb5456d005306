"""The try-on and cart events in the webhook catalogue (webhooks.event_types): what each means, the
serializer that builds its `data`, and an example. Registered by TryonsConfig.ready()."""

from tryons.serializers import (
    CartTryOnCancelledEventDataSerializer,
    CartTryOnEventDataSerializer,
    TryOnEventDataSerializer,
)
from webhooks import models as events
from webhooks.event_types import EventType, event_type_register

RESULT_URL = "https://s3.amazonaws.com/bucket/results/result_001.jpg"


def _item(n: int, status: str, *, credits: int = 2, refunded: int = 0, error=None) -> dict:
    return {
        "tryonId": f"tryon_item00{n}",
        "productId": f"prod_00{n}",
        "variantId": "var_blue_m" if n == 1 else None,
        "name": "Blue Cotton T-Shirt" if n == 1 else "Black Jeans",
        "imageUrl": f"https://shop.com/products/item{n}.jpg",
        "category": "tops" if n == 1 else "bottoms",
        "quantity": 1,
        "status": status,
        "resultUrl": RESULT_URL if status == "completed" else None,
        "error": error,
        "engine": None if status == "queued" else "fashn",
        "renderMs": 8400 if status == "completed" else None,
        "creditsCharged": credits,
        "creditsRefunded": refunded,
        "completedAt": "2025-12-11T10:04:32Z" if status in ("completed", "failed", "cancelled") else None,
    }


GARMENT_ERROR = {"code": "garment_unavailable", "message": "The garment image answered HTTP 404."}


def _session(status: str, results: list[dict], *, refunded: int = 0, cancelled: bool = False) -> dict:
    return {
        "sessionId": "cts_abc123",
        "cartId": "cart_external_xyz",
        "organizationId": "org_abc123",
        "externalId": "customer_12345",
        "status": status,
        "itemCount": len(results),
        "successCount": sum(1 for r in results if r["status"] == "completed"),
        "failureCount": sum(1 for r in results if r["status"] == "failed"),
        "creditsCharged": 4,
        "creditsRefunded": refunded,
        "metadata": {"orderId": "order_789", "sessionId": "web_session_456"},
        "results": results,
        "completedAt": "2025-12-11T10:01:00Z" if cancelled else "2025-12-11T10:04:32Z",
        "cancelledAt": "2025-12-11T10:01:00Z" if cancelled else None,
    }


def _tryon(status: str, *, error=None) -> dict:
    return {
        "tryonId": "tryon_abc123",
        "organizationId": "org_abc123",
        "sessionId": None,
        "externalId": "customer_12345",
        "status": status,
        "customerPhotoS3Key": "enterprise/org-org_abc123/photos/photo_abc.jpg",
        "productId": "prod_001",
        "variantId": "var_blue_m",
        "name": "Blue Cotton T-Shirt",
        "imageUrl": "https://shop.com/products/tshirt.jpg",
        "category": "tops",
        "renderQuality": "hd",
        "backgroundScene": "studio",
        "resultUrl": RESULT_URL if status == "completed" else None,
        "error": error,
        "engine": "fashn",
        "renderMs": 8400 if status == "completed" else None,
        "creditsCharged": 2,
        "creditsRefunded": 2 if status == "failed" else 0,
        "estimatedCompletionTime": None,
        "metadata": {},
        "createdAt": "2025-12-11T10:00:00Z",
        "completedAt": "2025-12-11T10:00:41Z",
    }


EVENT_TYPES = [
    EventType(
        events.CART_TRYON_COMPLETED,
        "Every item of a cart try-on session rendered.",
        CartTryOnEventDataSerializer,
        _session("completed", [_item(1, "completed"), _item(2, "completed")]),
    ),
    EventType(
        events.CART_TRYON_PARTIAL,
        "Some items rendered, some failed: each failed item carries `error` and was refunded.",
        CartTryOnEventDataSerializer,
        _session(
            "partial",
            [_item(1, "completed"), _item(2, "failed", refunded=2, error=GARMENT_ERROR)],
            refunded=2,
        ),
    ),
    EventType(
        events.CART_TRYON_FAILED,
        "Every item failed; all of the session's credits were refunded.",
        CartTryOnEventDataSerializer,
        _session(
            "failed",
            [
                _item(1, "failed", refunded=2, error=GARMENT_ERROR),
                _item(2, "failed", refunded=2, error=GARMENT_ERROR),
            ],
            refunded=4,
        ),
    ),
    EventType(
        events.CART_TRYON_CANCELLED,
        "The session was cancelled (POST /v1/cart-tryons/{id}/cancel or by staff). `cancellation` says "
        "what it refunded: every item not rendered yet, an item rendering at that moment included (its "
        "result, if one comes, is dropped). The session reads the same from then on.",
        CartTryOnCancelledEventDataSerializer,
        {
            **_session(
                "cancelled",
                [_item(1, "cancelled", refunded=2), _item(2, "cancelled", refunded=2)],
                refunded=4,
                cancelled=True,
            ),
            "cancellation": {"refundedCredits": 4, "refundedItemCount": 2, "itemStillRendering": True},
        },
    ),
    EventType(
        events.TRYON_COMPLETED,
        "A single try-on (POST /v1/tryons) rendered.",
        TryOnEventDataSerializer,
        _tryon("completed"),
    ),
    EventType(
        events.TRYON_FAILED,
        "A single try-on failed; its credits were refunded.",
        TryOnEventDataSerializer,
        _tryon("failed", error=GARMENT_ERROR),
    ),
]


def event_types_register() -> None:
    for event_type in EVENT_TYPES:
        event_type_register(event_type)
