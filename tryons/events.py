"""The try-on and cart events tryons sends (api.events): what each means, the serializer that describes its
`data`, the builder that makes it, and an example. A session's end and a single try-on's end are emitted
inside the transaction that records them (tryons.services.settlement, cancellation).

The payloads are the REST representation: built by the event serializers (tryons.serializers.events),
which share their fields with the REST ones, so a try-on reads the same in an answer and in an event.
"""

from decimal import Decimal

from api.events import event_type_declare
from tryons import selectors
from tryons.models import CartTryOnSession, TryOn
from tryons.serializers.events import (
    CartTryOnCancelledEventDataSerializer,
    CartTryOnEventDataSerializer,
    TryOnEventDataSerializer,
)

RESULT_URL = "https://s3.amazonaws.com/bucket/results/result_001.jpg"
RESULT = {"url": RESULT_URL, "seed": None, "format": "jpeg", "width": 864, "height": 1296, "reused": False}


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
        # FASHN keeps the photo's background: the studio asked for is not what it shows.
        "backgroundSceneApplied": "original" if status == "completed" else None,
        "creditsCharged": credits,
        "creditsRefunded": refunded,
        "completedAt": "2025-12-11T10:04:32Z" if status in ("completed", "failed", "cancelled") else None,
        # The render controls as asked (none here), and every image delivered (README, "Render controls").
        "garmentPhotoType": "auto",
        "numSamples": 1,
        "seed": None,
        "outputFormat": None,
        "results": [RESULT] if status == "completed" else [],
        "engineNotes": [],
        "reused": False,
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
        "looks": [],  # a cart's looks, when it asked for any (README, "Looks")
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
        "backgroundSceneApplied": "original" if status == "completed" else None,
        "creditsCharged": 2,
        "creditsRefunded": 2 if status == "failed" else 0,
        "estimatedCompletionTime": None,
        "metadata": {},
        "createdAt": "2025-12-11T10:00:00Z",
        "completedAt": "2025-12-11T10:00:41Z",
        "reused": False,
    }


def _session_data(*, session: CartTryOnSession) -> dict:
    return CartTryOnEventDataSerializer(selectors.cart_session_for_event(session_id=session.id)).data


def _session_cancelled_data(
    *, session: CartTryOnSession, refunded: Decimal, refunded_items: int, still_rendering: bool
) -> dict:
    cancellation = {
        "refundedCredits": refunded,
        "refundedItemCount": refunded_items,
        "itemStillRendering": still_rendering,
    }
    return CartTryOnCancelledEventDataSerializer(
        selectors.cart_session_for_event(session_id=session.id), context={"cancellation": cancellation}
    ).data


def _tryon_data(*, tryon: TryOn) -> dict:
    return TryOnEventDataSerializer(selectors.tryon_for_event(tryon_id=tryon.id)).data


CART_TRYON_COMPLETED = event_type_declare(
    name="cart_tryon.completed",
    owner="tryons",
    description="Every item of a cart try-on session rendered.",
    data=CartTryOnEventDataSerializer,
    build=_session_data,
    example=_session("completed", [_item(1, "completed"), _item(2, "completed")]),
)
CART_TRYON_PARTIAL = event_type_declare(
    name="cart_tryon.partial",
    owner="tryons",
    description="Some items rendered, some failed: each failed item carries `error` and was refunded.",
    data=CartTryOnEventDataSerializer,
    build=_session_data,
    example=_session(
        "partial",
        [_item(1, "completed"), _item(2, "failed", refunded=2, error=GARMENT_ERROR)],
        refunded=2,
    ),
)
CART_TRYON_FAILED = event_type_declare(
    name="cart_tryon.failed",
    owner="tryons",
    description="Every item failed; all of the session's credits were refunded.",
    data=CartTryOnEventDataSerializer,
    build=_session_data,
    example=_session(
        "failed",
        [
            _item(1, "failed", refunded=2, error=GARMENT_ERROR),
            _item(2, "failed", refunded=2, error=GARMENT_ERROR),
        ],
        refunded=4,
    ),
)
CART_TRYON_CANCELLED = event_type_declare(
    name="cart_tryon.cancelled",
    owner="tryons",
    description="The session was cancelled (POST /v1/cart-tryons/{id}/cancel or by staff). `cancellation` "
    "says what it refunded: every item not rendered yet, an item rendering at that moment included (its "
    "result, if one comes, is dropped). The session reads the same from then on.",
    data=CartTryOnCancelledEventDataSerializer,
    build=_session_cancelled_data,
    example={
        **_session(
            "cancelled",
            [_item(1, "cancelled", refunded=2), _item(2, "cancelled", refunded=2)],
            refunded=4,
            cancelled=True,
        ),
        "cancellation": {"refundedCredits": 4, "refundedItemCount": 2, "itemStillRendering": True},
    },
)
TRYON_COMPLETED = event_type_declare(
    name="tryon.completed",
    owner="tryons",
    description="A single try-on (POST /v1/tryons) rendered.",
    data=TryOnEventDataSerializer,
    build=_tryon_data,
    example=_tryon("completed"),
)
TRYON_FAILED = event_type_declare(
    name="tryon.failed",
    owner="tryons",
    description="A single try-on failed; its credits were refunded.",
    data=TryOnEventDataSerializer,
    build=_tryon_data,
    example=_tryon("failed", error=GARMENT_ERROR),
)

# The event each end state sends: a session's end (tryons.services.settlement.session_finish) and a
# single try-on's.
CART_TRYON_ENDED = {
    CartTryOnSession.Status.COMPLETED: CART_TRYON_COMPLETED,
    CartTryOnSession.Status.PARTIAL: CART_TRYON_PARTIAL,
    CartTryOnSession.Status.FAILED: CART_TRYON_FAILED,
}
TRYON_ENDED = {TryOn.Status.COMPLETED: TRYON_COMPLETED, TryOn.Status.FAILED: TRYON_FAILED}

# The catalogue declares its events beside its code; imported last, they are listed after the try-ons'.
from tryons.catalogue.events import GARMENT_FAILED, GARMENT_READY, GARMENTS_IMPORTED  # noqa: E402, F401
