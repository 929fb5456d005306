"""Looks at run time: each is put on one garment at a time, a step being a render of the next garment on the
previous step's result (our stored copy, never a partner's URL), rendered like a single try-on (its own
task, lease and sweep; on a hosted engine no worker waits). Steps of different looks run side by side, a
look's steps in order. The transaction that ends a step creates the next one, so a run that dies re-renders
nothing finished and charges nothing again; a look that fails at any step is refunded whole, once.

LOCK ORDER as everywhere (see cart_session_cancel): the session, then the look, then its rows.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from organizations.models import CENT
from organizations.services import credits_refund
from tryons import looks as vocabulary
from tryons.models import CartTryOnSession, Look, TryOn
from tryons.services import queue


def looks_rows(*, session: CartTryOnSession, looks: list[vocabulary.Look], render_items: bool, per_render):
    """The Look rows of a new session (its items already written), priced as tryons.pricing does."""
    rows = []
    for position, look in enumerate(looks):
        renders = len(look.positions) - (1 if render_items else 0)
        rows.append(
            Look(
                session=session,
                organization_id=session.organization_id,
                position=position,
                look_id=look.look_id,
                item_positions=list(look.positions),
                reuses_item=render_items,
                renders=renders,
                credits=(per_render * renders).quantize(CENT),
            )
        )
    return Look.objects.bulk_create(rows)


def looks_start(*, session_id: str) -> None:
    """Start the session's looks that begin on the customer's photo, and those that begin on a cart item
    whose render has ended (normally `looks_item_ended` starts them as it ends; a run that died in between
    leaves them to this). Safe to run again: a started look is left alone."""
    waiting = Look.objects.filter(session_id=session_id, status=Look.Status.QUEUED)
    if not waiting.exists():
        return
    ended = dict(
        TryOn.objects.filter(session_id=session_id, sample=0, status__in=TryOn.FINISHED).values_list(
            "position", "status"
        )
    )
    for look in waiting:
        first = look.item_positions[0]
        if look.reuses_item:
            if first in ended:
                with transaction.atomic():
                    looks_item_ended(session_id=session_id, position=first, end=ended[first])
            continue
        with transaction.atomic():
            locked = _lock(look.id, session_id)
            if locked is None or locked.status != Look.Status.QUEUED:
                continue
            photo_key = CartTryOnSession.objects.values_list("photo_key", flat=True).get(pk=session_id)
            Look.objects.filter(pk=look.id).update(status=Look.Status.PROCESSING)
            _step_create(locked, step=0, person_key=photo_key)


def looks_item_ended(*, session_id: str, position: int, end: str) -> None:
    """In the transaction that ended the cart item at `position`: the looks whose first garment it is go on
    from its result, or fail with it (refunded)."""
    for look in Look.objects.filter(session_id=session_id, status=Look.Status.QUEUED, reuses_item=True):
        if look.item_positions[0] != position:
            continue
        locked = _lock(look.id, session_id)
        if locked is None or locked.status != Look.Status.QUEUED:
            continue
        if end != TryOn.Status.COMPLETED:
            _look_fail(
                locked,
                code="item_failed",
                message=f"Its first garment (item {position + 1}) was not rendered.",
            )
            continue
        result_key = TryOn.objects.values_list("result_key", flat=True).get(
            session_id=session_id, position=position, sample=0
        )
        Look.objects.filter(pk=look.id).update(status=Look.Status.PROCESSING, garments_on=1)
        locked.garments_on = 1
        _advance(locked, result_key=result_key)


def look_step_ended(step: TryOn, end: str) -> None:
    """In the transaction that ended `step` (its look locked): put the next garment on, or end the look."""
    look = Look.objects.get(pk=step.look_id)
    if look.status not in Look.ACTIVE:
        return  # cancelled meanwhile: the step's result is not used
    if end != TryOn.Status.COMPLETED:
        error_code, error = TryOn.objects.values_list("error_code", "error").get(pk=step.id)
        _look_fail(look, code=error_code or "render_failed", message=error)
        return
    result_key = TryOn.objects.values_list("result_key", flat=True).get(pk=step.id)
    look.garments_on = step.look_step + 1
    Look.objects.filter(pk=look.id).update(garments_on=look.garments_on)
    _advance(look, result_key=result_key)


def looks_waiting_on_items(session_id: str) -> bool:
    """Whether a look of the session still waits for one of its cart items to be rendered."""
    return Look.objects.filter(session_id=session_id, status=Look.Status.QUEUED, reuses_item=True).exists()


def looks_lock(*, session_id: str, look_id: str) -> None:
    """Lock a step's session and look, in LOCK ORDER, before the step's own row is written."""
    _lock(look_id, session_id)


def looks_cancel(*, session_id: str) -> tuple[Decimal, int]:
    """In the cancel's transaction (session locked): end every unfinished look as cancelled and take its
    queued or rendering step away. Returns what they were charged (the cancel refunds it with the items')
    and how many there were."""
    owed, cancelled = Decimal("0"), 0
    for look in Look.objects.select_for_update().filter(session_id=session_id, status__in=Look.ACTIVE):
        owed += look.credits - look.credits_refunded
        cancelled += 1
        Look.objects.filter(pk=look.id).update(
            status=Look.Status.CANCELLED, completed_at=timezone.now(), credits_refunded=look.credits
        )
        TryOn.objects.filter(look_id=look.id, status__in=TryOn.ACTIVE).update(
            status=TryOn.Status.CANCELLED, completed_at=timezone.now(), awaiting_callback=False
        )
    return owed, cancelled


def looks_give_up(*, session_id: str) -> None:
    """The sweeper gave up on the session: its unfinished looks fail, refunded."""
    for look in Look.objects.filter(session_id=session_id, status__in=Look.ACTIVE):
        with transaction.atomic():
            locked = _lock(look.id, session_id)
            if locked is not None and locked.status in Look.ACTIVE:
                TryOn.objects.filter(look_id=look.id, status__in=TryOn.ACTIVE).update(
                    status=TryOn.Status.FAILED, error_code="timed_out", completed_at=timezone.now()
                )
                _look_fail(locked, code="timed_out", message="Rendering did not finish in time.")


def look_renders_done(look: Look) -> int:
    """How many of the renders the look is charged for are behind it (all of them once it ended)."""
    if look.status in Look.FINISHED:
        return look.renders
    return max(0, look.garments_on - (1 if look.reuses_item else 0))


def _lock(look_id: str, session_id: str) -> Look | None:
    CartTryOnSession.objects.select_for_update().filter(pk=session_id).values_list("pk").first()
    return Look.objects.select_for_update().filter(pk=look_id).first()


def _advance(look: Look, *, result_key: str) -> None:
    """`result_key` holds the look with `look.garments_on` garments on: end it, or put the next one on."""
    if look.garments_on >= len(look.item_positions):
        Look.objects.filter(pk=look.id).update(
            status=Look.Status.COMPLETED, result_key=result_key, completed_at=timezone.now()
        )
    else:
        _step_create(look, step=look.garments_on, person_key=result_key)


def _step_create(look: Look, *, step: int, person_key: str) -> TryOn:
    item = TryOn.objects.get(session_id=look.session_id, position=look.item_positions[step], sample=0)
    row = TryOn.objects.create(
        organization_id=look.organization_id,
        look=look,
        look_step=step,
        position=step,
        customer_id=item.customer_id,
        photo_key=person_key,
        product_id=item.product_id,
        variant_id=item.variant_id,
        name=item.name,
        image_url=item.image_url,
        category=item.category,
        render_quality=item.render_quality,
        background_scene=item.background_scene,
        # The garment's controls, its first sample's seed: a look shows the item's first sample's garment.
        garment_photo_type=item.garment_photo_type,
        seed=item.seed,
        seed_given=item.seed_given,
        output_format=item.output_format,
        reuse=item.reuse,
        credits=Decimal("0"),  # the look carries the price
    )
    transaction.on_commit(lambda: queue.enqueue("tryons.process_tryon", row.id))
    return row


def _look_fail(look: Look, *, code: str, message: str) -> None:
    amount = look.credits - look.credits_refunded
    Look.objects.filter(pk=look.id).update(
        status=Look.Status.FAILED,
        error_code=code[:40],
        error=message[:500],
        completed_at=timezone.now(),
        credits_refunded=look.credits,
    )
    if amount:
        credits_refund(
            organization_id=look.organization_id,
            amount=amount,
            reference=f"{look.session_id}:look:{look.position}:failed",
            description=f"Refund: {look.look_id} of {look.session_id} failed",
        )
        CartTryOnSession.objects.filter(pk=look.session_id).update(
            credits_refunded=F("credits_refunded") + amount
        )
