"""Cancelling a cart session: every item not rendered yet is refunded, the one rendering included."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.errors import Conflict, ResourceNotFound
from api.events import event_emit
from infrastructure.observability import metrics
from organizations.services import credits_refund
from tryons import events
from tryons.models import CartTryOnSession, TryOn
from tryons.services.looks import looks_cancel


def cart_session_cancel(*, organization_id: str, session_id: str, actor=None) -> CartTryOnSession:
    """Cancel a queued or processing session and refund every item not yet rendered, once.

    Queued: everything is refunded. Processing: items already rendered (or failed) stay as they are; every
    other item — queued, or rendering right now — is cancelled and refunded. A render still running when
    the cancel commits is dropped when it ends: `tryon_complete` completes only a `processing` item, and
    deletes the stored result it cannot record. So the session's progress, counts and credits are final
    here, and the event says what the session shows from now on (README: cancelling). Items and the
    session are locked first, so a worker's claim or completion of an item either happened before (it
    counts) or finds it cancelled.
    Cancelling twice returns the cancelled session; a finished session is a 409 Conflict. `actor` is the
    staff user cancelling from the admin (None for a partner's API call); the refund records it.
    A `cart_tryon.cancelled` event, with what was refunded, commits with the cancellation (the outbox), once.

    LOCK ORDER, everywhere a transaction holds more than one of these rows: cart session → its try-on
    items → organization (the credit ledger). Taken in any other order, a failing item (`tryon_fail`)
    holding item and organization while a cancel holds the session would each wait for the other, and
    PostgreSQL would break the cycle by killing one of them ("deadlock detected").
    """
    with transaction.atomic():
        session = (
            CartTryOnSession.objects.select_for_update()
            .filter(organization_id=organization_id, pk=session_id)
            .first()
        )
        if session is None:
            raise ResourceNotFound("Cart try-on session not found.", details={"sessionId": session_id})
        if session.status == CartTryOnSession.Status.CANCELLED:
            return session
        if session.is_finished:
            raise Conflict(
                f"The session already ended as {session.status}; there is nothing to cancel.",
                details={"sessionId": session_id, "status": session.status},
            )
        now = timezone.now()
        pending = list(
            TryOn.objects.select_for_update()
            .filter(session_id=session_id, status__in=TryOn.ACTIVE)
            .values_list("id", "credits", "status")
        )
        TryOn.objects.filter(pk__in=[pk for pk, _, _ in pending], status__in=TryOn.ACTIVE).update(
            status=TryOn.Status.CANCELLED,
            credits_refunded=F("credits"),
            completed_at=now,
            awaiting_callback=False,
        )
        looks_owed, looks_cancelled = looks_cancel(session_id=session_id)
        refund = sum((credits for _, credits, _ in pending), looks_owed)
        credits_refund(
            organization_id=organization_id,
            amount=refund,
            reference=f"{session_id}:cancel",
            description=f"Refund: cancelled {len(pending)} item(s) of {session_id}"
            + (f" and {looks_cancelled} look(s)" if looks_cancelled else ""),
            actor=actor,
        )
        running = any(status == TryOn.Status.PROCESSING for _, _, status in pending)
        transaction.on_commit(lambda: _cancellation_count(len(pending)))
        CartTryOnSession.objects.filter(pk=session_id).update(
            status=CartTryOnSession.Status.CANCELLED,
            cancelled_at=now,
            completed_at=now,
            credits_refunded=F("credits_refunded") + refund,
        )
        event_emit(
            events.CART_TRYON_CANCELLED,
            organization_id=organization_id,
            session=session,
            refunded=refund,
            refunded_items=len(pending),
            still_rendering=running,
        )
    session.refresh_from_db()
    return session


def _cancellation_count(items: int) -> None:
    metrics.cart_session_entered(CartTryOnSession.Status.CANCELLED)
    metrics.tryon_ended(status=TryOn.Status.CANCELLED, source="cart", count=items)
