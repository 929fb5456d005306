"""Ending an item — completed or failed — exactly once, with its refund, progress and webhook event.

A cart item answers to its session (refund under `<session>:item:<n>:failed`, no event of its own: the
session's end event reports it); a single try-on answers to itself (`<tryon>:failed`, `tryon.<end>`); a
step of a look answers to its look (tryons.services.looks: the next step, or the look's end and refund).
`settlement_for` is the one place that tells them apart.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, F, PositiveSmallIntegerField, Value, When
from django.utils import timezone

from api.events import event_emit
from infrastructure.observability import metrics
from infrastructure.storage import storage_delete, storage_save
from organizations.models import CENT, Organization
from organizations.partner_ids import partner_storage_key
from organizations.services import credits_refund
from tryons import events
from tryons.controls import ResultUnusable, result_encode
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.renderers.base import RenderResult
from tryons.services.looks import (
    look_renders_done,
    look_step_ended,
    looks_item_ended,
    looks_lock,
    looks_waiting_on_items,
)


def item_reference(tryon: TryOn) -> tuple[str, str]:
    """A cart row's ledger reference stem and its name for people: the item's, with its sample after the
    first (`<session>:item:<n>[:sample:<s>]`), so two samples of one item are refunded apart."""
    sample = f":sample:{tryon.sample}" if tryon.sample else ""
    name = f"item {tryon.position + 1}" + (f" sample {tryon.sample + 1}" if tryon.sample else "")
    return f"{tryon.session_id}:item:{tryon.position}{sample}", f"{name} of {tryon.session_id}"


def result_key(tryon: TryOn, extension: str) -> str:
    return partner_storage_key(
        organization_id=tryon.organization_id, kind="results", object_id=tryon.id, extension=extension
    )


@dataclass(frozen=True)
class _CartItemSettlement:
    session_id: str

    def lock(self) -> None:
        # LOCK ORDER (see cart_session_cancel): the session before the item and the organization.
        CartTryOnSession.objects.select_for_update().filter(pk=self.session_id).values_list("pk").first()

    def refund_reference(self, tryon: TryOn) -> tuple[str, str]:
        item, name = item_reference(tryon)
        if tryon.reruns:
            # A staff re-run was charged under its own reference; failing again refunds that charge.
            return (
                f"{item}:rerun:{tryon.reruns}:failed",
                f"Refund: re-run {tryon.reruns} of {name} failed",
            )
        return f"{item}:failed", f"Refund: {name} failed"

    def refunded(self, amount: Decimal) -> None:
        CartTryOnSession.objects.filter(pk=self.session_id).update(
            credits_refunded=F("credits_refunded") + amount
        )

    def render_price(self, tryon: TryOn) -> Decimal:
        return tryon.credits

    def reuse_reference(self, tryon: TryOn) -> tuple[str, str]:
        item, name = item_reference(tryon)
        return f"{item}:reused", f"Refund: {name} reused an identical render"

    def reuse_refunded(self, tryon: TryOn, amount: Decimal) -> None:
        TryOn.objects.filter(pk=tryon.pk).update(credits_refunded=F("credits_refunded") + amount)
        self.refunded(amount)

    def complete_lock(self) -> None:
        # A look that starts from this item is advanced in the same transaction: the session first.
        if looks_waiting_on_items(self.session_id):
            self.lock()

    def ended(self, tryon: TryOn, end: str) -> None:
        # The session's own end event reports its items; a look that starts from this item goes on now.
        if tryon.sample == 0:
            looks_item_ended(session_id=self.session_id, position=tryon.position, end=end)

    def after(self) -> None:
        session_progress(session_id=self.session_id)
        session_finish(session_id=self.session_id)


@dataclass(frozen=True)
class _SingleSettlement:
    def lock(self) -> None:
        pass  # no session: the item is the first row locked

    def refund_reference(self, tryon: TryOn) -> tuple[str, str]:
        return f"{tryon.id}:failed", f"Refund: try-on {tryon.id} failed"

    def refunded(self, amount: Decimal) -> None:
        pass

    def render_price(self, tryon: TryOn) -> Decimal:
        return tryon.credits

    def reuse_reference(self, tryon: TryOn) -> tuple[str, str]:
        return f"{tryon.id}:reused", f"Refund: try-on {tryon.id} reused an identical render"

    def reuse_refunded(self, tryon: TryOn, amount: Decimal) -> None:
        TryOn.objects.filter(pk=tryon.pk).update(credits_refunded=F("credits_refunded") + amount)

    def complete_lock(self) -> None:
        pass

    def ended(self, tryon: TryOn, end: str) -> None:
        tryon.refresh_from_db()
        # In the caller's transaction: the event (outbox row) commits with the end state or not at all.
        event_emit(events.TRYON_ENDED[end], organization_id=tryon.organization_id, tryon=tryon)

    def after(self) -> None:
        pass


@dataclass(frozen=True)
class _LookStepSettlement:
    session_id: str
    look_id: str

    def lock(self) -> None:
        looks_lock(session_id=self.session_id, look_id=self.look_id)

    def refund_reference(self, tryon: TryOn) -> tuple[str, str]:
        raise AssertionError("a step is charged nothing: its look is refunded whole (tryons.services.looks)")

    def refunded(self, amount: Decimal) -> None:
        pass

    def render_price(self, tryon: TryOn) -> Decimal:
        look = Look.objects.only("credits", "renders").get(pk=self.look_id)
        return look.credits / look.renders if look.renders else Decimal("0")

    def reuse_reference(self, tryon: TryOn) -> tuple[str, str]:
        position = Look.objects.values_list("position", flat=True).get(pk=self.look_id)
        return (
            f"{self.session_id}:look:{position}:step:{tryon.look_step}:reused",
            f"Refund: step {tryon.look_step + 1} of look {position + 1} of {self.session_id} reused an "
            "identical render",
        )

    def reuse_refunded(self, tryon: TryOn, amount: Decimal) -> None:
        Look.objects.filter(pk=self.look_id).update(credits_refunded=F("credits_refunded") + amount)
        CartTryOnSession.objects.filter(pk=self.session_id).update(
            credits_refunded=F("credits_refunded") + amount
        )

    def complete_lock(self) -> None:
        self.lock()  # the next step is created with the look locked, in LOCK ORDER

    def ended(self, tryon: TryOn, end: str) -> None:
        look_step_ended(tryon, end)
        # No run of the session is waiting for its looks: the step that ends the last one settles it.
        self.after()

    def after(self) -> None:
        session_progress(session_id=self.session_id)
        session_finish(session_id=self.session_id)


def settlement_for(tryon: TryOn) -> _CartItemSettlement | _SingleSettlement | _LookStepSettlement:
    """Who a finished item answers to: its cart session, its look, or itself."""
    if tryon.session_id:
        return _CartItemSettlement(tryon.session_id)
    if tryon.look_id:
        session_id = Look.objects.values_list("session_id", flat=True).get(pk=tryon.look_id)
        return _LookStepSettlement(session_id, tryon.look_id)
    return _SingleSettlement()


def result_store(tryon: TryOn, image: bytes, **info) -> tuple[str, dict]:
    """Store a render's image as the try-on's result, in the output format it asked for (tryons.controls);
    returns its key and its `result_info` (format and size, and `info`: the hosted model that rendered it)."""
    encoded = result_encode(image, tryon.output_format)
    key = result_key(tryon, encoded.format.extension)
    storage_save(key, encoded.image)
    return key, encoded.info(**info)


def tryon_complete(
    *,
    tryon: TryOn,
    result: RenderResult | None,
    elapsed_ms: int | None,
    stored_key: str = "",
    stored_info: dict | None = None,
    reused_from: str = "",
) -> bool:
    """Store the result and mark the try-on completed; False if it was no longer ours to complete.
    A result already stored comes as `stored_key` with its `stored_info` (result_store's); one copied from
    an identical earlier render names it (`reused_from`), and costs the organization's reused price only."""
    key, info = stored_key, stored_info or {}
    if result is not None:
        try:
            key, info = result_store(tryon, result.image)
        except ResultUnusable as exc:
            tryon_fail(tryon=tryon, code="render_invalid", message=str(exc))
            return False
    settlement = settlement_for(tryon)
    with transaction.atomic():
        if reused_from:
            settlement.lock()  # its refund updates the session: taken first, in LOCK ORDER
        else:
            settlement.complete_lock()
        # An erasure clears photo_key: a render finishing after it must not leave a result behind.
        updated = (
            TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.PROCESSING)
            .exclude(photo_key="")
            .update(
                status=TryOn.Status.COMPLETED,
                result_key=key,
                result_info=info,
                reused_from=reused_from,
                completed_at=timezone.now(),
                render_ms=elapsed_ms,
                awaiting_callback=False,
                error_code="",
                error="",
            )
        )
        if updated and reused_from:
            _reuse_refund(tryon, settlement)
        if updated:
            settlement.ended(tryon, "completed")
            _count_end(tryon, TryOn.Status.COMPLETED)
    if not updated:
        current = TryOn.objects.filter(pk=tryon.id).values_list("result_key", flat=True).first()
        if current != key:
            storage_delete(key)
        # Its photo reference cleared by anything but the erasure (which fails its rendering items itself):
        # the item must still end, now, not when the stuck-work sweep finds it.
        if TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.PROCESSING, photo_key="").exists():
            tryon_fail(tryon=tryon, code="photo_unavailable", message="The customer photo was erased.")
    return bool(updated)


def _reuse_refund(tryon: TryOn, settlement) -> None:
    """A reused render costs `reusedRenderPrice` × its price: the rest goes back, once (its reference)."""
    share = Organization.objects.only("settings").get(pk=tryon.organization_id).reused_render_price
    amount = (settlement.render_price(tryon) * (1 - share)).quantize(CENT)
    if amount <= 0:
        return
    reference, description = settlement.reuse_reference(tryon)
    credits_refund(
        organization_id=tryon.organization_id, amount=amount, reference=reference, description=description
    )
    settlement.reuse_refunded(tryon, amount)


def tryon_fail(*, tryon: TryOn, code: str, message: str) -> bool:
    """Mark a processing try-on failed and refund it, exactly once.

    Takes its locks in LOCK ORDER (see cart_session_cancel): the session first, then the item, then the
    organization (in credits_refund), so a concurrent cancel queues behind it instead of deadlocking.
    """
    settlement = settlement_for(tryon)
    with transaction.atomic():
        settlement.lock()
        updated = TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.PROCESSING).update(
            status=TryOn.Status.FAILED,
            error_code=code[:40],
            error=message[:500],
            completed_at=timezone.now(),
            awaiting_callback=False,
            credits_refunded=F("credits"),
        )
        if not updated:
            return False
        if tryon.credits:  # a look's step is charged nothing: its look is refunded (settlement.ended)
            reference, description = settlement.refund_reference(tryon)
            credits_refund(
                organization_id=tryon.organization_id,
                amount=tryon.credits,
                reference=reference,
                description=description,
            )
            settlement.refunded(tryon.credits)
        settlement.ended(tryon, "failed")
        _count_end(tryon, TryOn.Status.FAILED)
    return True


def session_progress(*, session_id: str) -> None:
    """Progress over every render the session was charged for: its items' and its looks'."""
    counts = _item_counts(session_id)
    counts.pop(TryOn.Status.SKIPPED, None)  # not rendered alone: only its looks show it
    looks = list(Look.objects.filter(session_id=session_id))
    total = sum(counts.values()) + sum(look.renders for look in looks) or 1
    done = sum(counts.get(status, 0) for status in TryOn.FINISHED) + sum(map(look_renders_done, looks))
    progress = done * 100 // total
    CartTryOnSession.objects.filter(pk=session_id, status=CartTryOnSession.Status.PROCESSING).update(
        progress=progress,
        heartbeat_at=timezone.now(),
        # An item finished: the sweeper's count of hand-overs without progress starts again.
        sweep_count=Case(
            When(progress__lt=progress, then=Value(0)),
            default=F("sweep_count"),
            output_field=PositiveSmallIntegerField(),
        ),
    )


def _item_counts(session_id: str) -> dict[str, int]:
    return dict(
        TryOn.objects.filter(session_id=session_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


def session_finish(*, session_id: str) -> str | None:
    """Settle a session whose items are all finished; returns the end state it recorded, if any.

    The row lock orders this against a concurrent cancel, and the conditional UPDATE from `processing`
    makes the end state — and with it the webhook event, in the same transaction — happen once.
    """
    with transaction.atomic():
        session = CartTryOnSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return None
        counts = _item_counts(session_id)
        if counts.get(TryOn.Status.QUEUED) or counts.get(TryOn.Status.PROCESSING):
            return None
        looks = dict(
            Look.objects.filter(session_id=session_id)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        if looks.get(Look.Status.QUEUED) or looks.get(Look.Status.PROCESSING):
            return None
        for status in (TryOn.Status.COMPLETED, TryOn.Status.FAILED):
            counts[status] = counts.get(status, 0) + looks.get(status, 0)
        now = timezone.now()
        if session.status == CartTryOnSession.Status.CANCELLED:
            CartTryOnSession.objects.filter(pk=session_id, completed_at__isnull=True).update(completed_at=now)
            return None
        completed, failed = counts.get(TryOn.Status.COMPLETED, 0), counts.get(TryOn.Status.FAILED, 0)
        if failed == 0:
            final = CartTryOnSession.Status.COMPLETED
        elif completed == 0:
            final = CartTryOnSession.Status.FAILED
        else:
            final = CartTryOnSession.Status.PARTIAL
        updated = CartTryOnSession.objects.filter(
            pk=session_id, status=CartTryOnSession.Status.PROCESSING
        ).update(status=final, progress=100, completed_at=now, heartbeat_at=now)
        if not updated:
            return None
        session.refresh_from_db()
        transaction.on_commit(lambda: metrics.cart_session_entered(final))
        event_emit(events.CART_TRYON_ENDED[final], organization_id=session.organization_id, session=session)
        return final


def _count_end(tryon: TryOn, status: str) -> None:
    source = "cart" if tryon.session_id else "look" if tryon.look_id else "single"
    transaction.on_commit(lambda: metrics.tryon_ended(status=status, source=source))


def tryon_timeout(tryon: TryOn) -> None:
    TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.QUEUED).update(status=TryOn.Status.PROCESSING)
    tryon_fail(tryon=tryon, code="timed_out", message="Rendering did not finish in time.")
