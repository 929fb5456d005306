"""Re-running a failed cart item from the staff console: charged again, refunded again if it fails again.

Why charged, not free: a failed item was refunded, so the organization has paid nothing for it. A re-run that
delivers a render is a render delivered, and partners pay for those (DESIGN, Credits); goodwill is a separate,
billing-only decision made with an adjustment, where the ledger says so. Charging keeps the ledger the whole
truth (the consumption charts, the balance) and keeps support from handing out free renders by accident.
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from api.errors import Conflict, Forbidden, ResourceNotFound, ValidationError
from infrastructure.storage import storage_exists
from organizations.models import Organization
from organizations.services import credits_charge
from tryons.models import CartTryOnSession, TryOn
from tryons.services import queue
from tryons.services.settlement import item_reference

RERUN_PERMISSION = "tryons.rerun_tryon"
# Sessions whose items may be re-run: ended by themselves. A cancelled session was stopped by the partner
# (or staff), and one still queued or processing has a run that owns its items.
RERUNNABLE_SESSION_STATUSES = (
    CartTryOnSession.Status.COMPLETED,
    CartTryOnSession.Status.PARTIAL,
    CartTryOnSession.Status.FAILED,
)


def user_can_rerun(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(RERUN_PERMISSION))


def cart_item_rerun(*, tryon_id: str, actor, reason: str) -> TryOn:
    """Queue a failed item of a finished cart session for one more render, charging its price again.

    Refuses (ApiError, nothing changes): a user without the re-run permission, an empty reason, an item that
    is not a failed cart item, a session that has not ended by itself (queued, processing, cancelled), a
    suspended organization, an erased customer or photo, a balance short of the item's price, and a session
    whose cart content a newer live session holds (re-opening it would make two).

    Exactly once under any concurrency (a double click, two staff at once): the session and then the item are
    locked (LOCK ORDER, see cart_session_cancel) and the item must still be `failed`, so a second caller finds
    it queued and gets a 409. The charge is `<session>:item:<n>:rerun:<k>` with the staff user and reason on
    the entry; a re-run that fails again is refunded under `...:rerun:<k>:failed` (settlement). The session
    goes back to `processing`, its worker renders the item, and `session_finish` records the new end state
    and its `cart_tryon.<status>` event once the item ends.
    """
    if not user_can_rerun(actor):
        raise Forbidden("Only GarmaxAI staff with the re-run permission can re-run items.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(details={"reason": ["A reason is required."]})
    session_id = TryOn.objects.filter(pk=tryon_id).values_list("session_id", flat=True).first()
    if session_id is None:
        raise ResourceNotFound(
            "No cart item with this id (single try-ons cannot be re-run).", details={"tryonId": tryon_id}
        )
    with transaction.atomic():
        session = CartTryOnSession.objects.select_for_update().get(pk=session_id)
        tryon = TryOn.objects.select_for_update().get(pk=tryon_id)
        _rerun_check(session=session, tryon=tryon)
        rerun = tryon.reruns + 1
        if tryon.credits > 0:
            item, name = item_reference(tryon)
            credits_charge(
                organization_id=session.organization_id,
                amount=tryon.credits,
                reference=f"{item}:rerun:{rerun}",
                description=f"Re-run {rerun} of {name}: {reason}",
                actor=actor,
            )
        TryOn.objects.filter(pk=tryon_id, status=TryOn.Status.FAILED).update(
            status=TryOn.Status.QUEUED,
            reruns=rerun,
            attempts=0,
            credits_refunded=0,
            error_code="",
            error="",
            started_at=None,
            completed_at=None,
            render_ms=None,
            renderer="",
            render_job_id="",
            awaiting_callback=False,
            result_key="",
        )
        _session_reopen(session=session, tryon=tryon)
        transaction.on_commit(lambda: queue.enqueue("tryons.process_cart_session", session_id))
    tryon.refresh_from_db()
    return tryon


def _rerun_check(*, session: CartTryOnSession, tryon: TryOn) -> None:
    details = {"tryonId": tryon.id, "sessionId": session.id}
    if tryon.status != TryOn.Status.FAILED:
        raise Conflict(
            f"Only failed items can be re-run; this one is {tryon.status}.",
            details={**details, "status": tryon.status},
        )
    if session.status not in RERUNNABLE_SESSION_STATUSES:
        raise Conflict(
            f"The session is {session.status}: only items of a completed, partial or failed session can be "
            "re-run.",
            details={**details, "sessionStatus": session.status},
        )
    organization_status = Organization.objects.filter(pk=session.organization_id).values_list(
        "status", flat=True
    )[0]
    if organization_status != Organization.Status.ACTIVE:
        raise Conflict(
            f"The organization is {organization_status}; its items cannot be re-run.",
            details={**details, "organizationStatus": organization_status},
        )
    # Erasure clears photo_key (and deleting the customer its link): the person photo is gone for good.
    if not tryon.photo_key or tryon.customer_id is None or not storage_exists(tryon.photo_key):
        raise Conflict(
            "The customer or their photo was erased; the item cannot be rendered again.", details=details
        )


def _session_reopen(*, session: CartTryOnSession, tryon: TryOn) -> None:
    """Back to `processing`, unowned (no lease), so the queued run claims it and ends it again."""
    finished = TryOn.objects.filter(session_id=session.id, status__in=TryOn.FINISHED).count()
    now = timezone.now()
    try:
        # A savepoint: a failed session is outside the live-content constraint, and a newer identical cart
        # may hold it now; that one failed UPDATE must not end the transaction.
        with transaction.atomic():
            CartTryOnSession.objects.filter(pk=session.id).update(
                status=CartTryOnSession.Status.PROCESSING,
                progress=finished * 100 // session.item_count,
                completed_at=None,
                lease="",
                heartbeat_at=now,
                sweep_count=0,
                credits_charged=F("credits_charged") + tryon.credits,
            )
    except IntegrityError:
        raise Conflict(
            "A newer session for the same cart content is live; re-run the item there instead.",
            details={"tryonId": tryon.id, "sessionId": session.id, "cartId": session.cart_id},
        ) from None
