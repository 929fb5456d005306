"""Webhook event payloads for try-ons and cart sessions, in the REST representation."""

from tryons.models import CartTryOnSession, TryOn
from tryons.representation import credits_number, result_url, tryon_error
from webhooks.services import webhook_event_record


def record_event(*, organization_id: str, event: str, data: dict) -> None:
    # In the caller's transaction: the event (outbox row) commits with the end state or not at all.
    webhook_event_record(organization_id=organization_id, event=event, data=data)


def _item_result(tryon: TryOn) -> dict:
    # Named and represented as the same fields of CartItemResultSerializer / TryOnSerializer.
    return {
        "productId": tryon.product_id,
        "variantId": tryon.variant_id,
        "status": tryon.status,
        "resultUrl": result_url(tryon),
        "error": tryon_error(tryon),
    }


def session_payload(session: CartTryOnSession) -> dict:
    items = list(session.items.order_by("position"))
    return {
        "sessionId": session.id,
        "cartId": session.cart_id,
        "organizationId": session.organization_id,
        "status": session.status,
        "itemCount": session.item_count,
        "successCount": sum(1 for item in items if item.status == TryOn.Status.COMPLETED),
        "failureCount": sum(1 for item in items if item.status == TryOn.Status.FAILED),
        "creditsCharged": credits_number(session.credits_charged),
        "creditsRefunded": credits_number(session.credits_refunded),
        "results": [_item_result(item) for item in items],
    }


def tryon_payload(tryon: TryOn) -> dict:
    return {
        "tryonId": tryon.id,
        "organizationId": tryon.organization_id,
        **_item_result(tryon),
        "creditsCharged": credits_number(tryon.credits),
        "creditsRefunded": credits_number(tryon.credits_refunded),
    }
