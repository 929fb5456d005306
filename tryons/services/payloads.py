"""Webhook event payloads for try-ons and cart sessions.

They are the REST representation: built by the event serializers in tryons/serializers.py, which share
their fields with the REST ones, so a try-on reads the same in an answer and in an event.
"""

from decimal import Decimal

from tryons import selectors
from tryons.models import CartTryOnSession, TryOn
from tryons.serializers import (
    CartTryOnCancelledEventDataSerializer,
    CartTryOnEventDataSerializer,
    TryOnEventDataSerializer,
)
from webhooks.services import webhook_event_record


def record_event(*, organization_id: str, event: str, data: dict) -> None:
    # In the caller's transaction: the event (outbox row) commits with the end state or not at all.
    webhook_event_record(organization_id=organization_id, event=event, data=data)


def session_payload(session: CartTryOnSession) -> dict:
    return CartTryOnEventDataSerializer(selectors.cart_session_for_event(session_id=session.id)).data


def session_cancelled_payload(
    session: CartTryOnSession, *, refunded: Decimal, refunded_items: int, still_rendering: bool
) -> dict:
    cancellation = {
        "refundedCredits": refunded,
        "refundedItemCount": refunded_items,
        "itemStillRendering": still_rendering,
    }
    return CartTryOnCancelledEventDataSerializer(
        selectors.cart_session_for_event(session_id=session.id), context={"cancellation": cancellation}
    ).data


def tryon_payload(tryon: TryOn) -> dict:
    return TryOnEventDataSerializer(selectors.tryon_for_event(tryon_id=tryon.id)).data
