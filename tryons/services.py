"""The try-on pipeline: create and charge, render item by item, cancel and refund, sweep, erase.

Invariants every function here keeps, whatever crashes or runs twice:
- Credits move only through `organizations.services` with one reference per reason (`<session>` charge,
  `<session>:cancel`, `<session>:item:<n>:failed`, `<tryon>` and `<tryon>:failed` for single try-ons), so a
  repeated step can never charge or refund twice.
- Every state change is a conditional UPDATE on the current status (`queued → processing → completed`); the
  one caller that wins the UPDATE does the follow-up (refund, webhook event), everyone else does nothing.
- Item state lives on the item row, so a re-delivered task resumes: finished items are skipped, and a
  result stored just before a crash is picked up instead of rendered again.
"""

import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, PositiveSmallIntegerField, Q, Value, When
from django.utils import timezone
from PIL import Image

from config import outbound
from config.errors import Conflict, ResourceNotFound, ValidationError
from config.ids import new_id
from config.metadata import METADATA_MAX_BYTES, metadata_too_large
from config.storage import storage_delete, storage_exists, storage_read, storage_save, storage_signed_url
from customers.selectors import photo_for_key
from organizations.models import Organization, credits_number
from organizations.services import credits_charge, credits_refund
from tryons import pricing
from tryons.heartbeats import Heartbeat, lease_new
from tryons.models import CartTryOnSession, TryOn
from tryons.renderers import (
    PermanentRenderError,
    RenderAccepted,
    RenderRequest,
    RenderResult,
    RetryableRenderError,
    get_renderer,
)
from webhooks.services import webhook_event_record

logger = logging.getLogger(__name__)

# Attempts per item (download + render) before it fails; counted on the row across redeliveries, so an
# item that keeps killing its worker also ends.
RENDER_MAX_ATTEMPTS = 3
RENDER_BACKOFF_SECONDS = (2.0, 6.0)
# Dead or forgotten work is re-queued this many times without an item finishing before its unfinished items
# are failed and refunded (a cart that kills every worker it lands on ends).
SWEEP_REQUEUE_LIMIT = 2
# Per-item duration assumed for estimatedCompletionTime until there is history to measure.
DEFAULT_ITEM_SECONDS = 8.0
ETA_SAMPLE_SIZE = 50
GARMENT_MAX_PIXELS = 40_000_000
# As for customer photos: Pillow's other decoders (TIFF, EPS through Ghostscript, ...) are attack surface that
# no shop's product image needs.
GARMENT_FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class GarmentInput:
    product_id: str
    image_url: str
    category: str
    variant_id: str = ""
    name: str = ""
    quantity: int = 1
    price: Decimal | None = None
    currency: str = ""

    def canonical(self) -> dict:
        return {
            "productId": self.product_id,
            "variantId": self.variant_id,
            "name": self.name,
            "imageUrl": self.image_url,
            "category": self.category,
            "quantity": self.quantity,
            "price": None if self.price is None else str(self.price),
            "currency": self.currency,
        }


# --- Creation --------------------------------------------------------------------------------------


def _photo(*, organization_id: str, photo_key: str):
    photo = photo_for_key(organization_id=organization_id, storage_key=photo_key)
    if photo is None:
        # Another organization's key gets the same answer as a key that never existed.
        raise ValidationError(
            "customerPhotoS3Key is not a photo of this organization.",
            details={"customerPhotoS3Key": ["No photo of this organization is stored under this key."]},
        )
    return photo


def _quality(*, organization_id: str, render_quality: str | None) -> str:
    if render_quality:
        return render_quality
    organization = Organization.objects.only("settings").get(pk=organization_id)
    return organization.default_render_quality


def _check_metadata(metadata: dict) -> dict:
    if metadata_too_large(metadata):
        raise ValidationError(
            details={"metadata": [f"Must serialize to at most {METADATA_MAX_BYTES} bytes."]}
        )
    return metadata


def tryon_estimated_completion(*, organization_id: str, item_count: int) -> datetime:
    """When `item_count` new items should be done: recent per-item durations × (items + org backlog)."""
    recent = list(
        TryOn.objects.filter(status=TryOn.Status.COMPLETED, render_ms__isnull=False)
        .order_by("-completed_at")
        .values_list("render_ms", flat=True)[:ETA_SAMPLE_SIZE]
    )
    per_item = (sum(recent) / len(recent) / 1000) if recent else DEFAULT_ITEM_SECONDS
    backlog = TryOn.objects.filter(
        organization_id=organization_id, status__in=[TryOn.Status.QUEUED, TryOn.Status.PROCESSING]
    ).count()
    return timezone.now() + timedelta(seconds=per_item * (item_count + backlog))


def cart_session_create(
    *,
    organization_id: str,
    cart_id: str,
    photo_key: str,
    items: list[GarmentInput],
    render_quality: str | None = None,
    background_scene: str = "",
    metadata: dict | None = None,
) -> tuple[CartTryOnSession, bool]:
    """Create, charge and queue a cart session. Returns (session, created).

    The session, its items and the ledger charge commit together or not at all: too few credits raise
    InsufficientCredits and leave nothing behind. A create repeating a live session's cartId and content
    returns that session unchanged and charges nothing — also when two such requests race, because the
    second insert hits a unique index and rolls back its charge with it. The processing task is queued only
    after commit.
    """
    if not 1 <= len(items) <= pricing.MAX_CART_ITEMS:
        raise ValidationError(details={"cartItems": [f"Must hold 1 to {pricing.MAX_CART_ITEMS} items."]})
    metadata = _check_metadata(metadata or {})
    photo = _photo(organization_id=organization_id, photo_key=photo_key)
    quality = _quality(organization_id=organization_id, render_quality=render_quality)
    content_hash = hashlib.sha256(
        json.dumps(
            {
                "photo": photo_key,
                "quality": quality,
                "scene": background_scene,
                "metadata": metadata,
                "items": [item.canonical() for item in items],
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    existing = _live_session(organization_id=organization_id, cart_id=cart_id, content_hash=content_hash)
    if existing is not None:
        return existing, False

    per_item = pricing.item_price(quality=quality, item_count=len(items))
    total = pricing.cart_price(quality=quality, item_count=len(items))
    session_id = new_id("cts")
    try:
        with transaction.atomic():
            session = CartTryOnSession.objects.create(
                id=session_id,
                organization_id=organization_id,
                customer_id=photo.customer_id,
                photo=photo,
                photo_key=photo_key,
                cart_id=cart_id,
                render_quality=quality,
                background_scene=background_scene,
                metadata=metadata,
                content_hash=content_hash,
                item_count=len(items),
                credits_required=total,
                credits_charged=total,
                estimated_completion_at=tryon_estimated_completion(
                    organization_id=organization_id, item_count=len(items)
                ),
            )
            TryOn.objects.bulk_create(
                [
                    _tryon_row(
                        organization_id=organization_id,
                        photo=photo,
                        photo_key=photo_key,
                        garment=item,
                        quality=quality,
                        background_scene=background_scene,
                        credits=per_item,
                        session=session,
                        position=position,
                    )
                    for position, item in enumerate(items)
                ]
            )
            credits_charge(
                organization_id=organization_id,
                amount=total,
                reference=session_id,
                description=f"Cart try-on {cart_id[:60]}: {len(items)} item(s) at {quality}",
            )
            transaction.on_commit(lambda: _enqueue("tryons.process_cart_session", session_id))
    except IntegrityError:
        existing = _live_session(organization_id=organization_id, cart_id=cart_id, content_hash=content_hash)
        if existing is None:
            raise
        return existing, False
    return session, True


def _live_session(*, organization_id: str, cart_id: str, content_hash: str) -> CartTryOnSession | None:
    return (
        CartTryOnSession.objects.filter(
            organization_id=organization_id,
            cart_id=cart_id,
            content_hash=content_hash,
            status__in=["queued", "processing", "completed", "partial"],
        )
        .order_by("-created_at")
        .first()
    )


def _tryon_row(
    *, organization_id, photo, photo_key, garment: GarmentInput, quality, background_scene, credits, **extra
) -> TryOn:
    return TryOn(
        id=new_id("tryon"),
        organization_id=organization_id,
        customer_id=photo.customer_id,
        photo=photo,
        photo_key=photo_key,
        product_id=garment.product_id,
        variant_id=garment.variant_id,
        name=garment.name,
        image_url=garment.image_url,
        category=garment.category,
        quantity=garment.quantity,
        price=garment.price,
        currency=garment.currency,
        render_quality=quality,
        background_scene=background_scene,
        credits=credits,
        **extra,
    )


def tryon_create(
    *,
    organization_id: str,
    photo_key: str,
    garment: GarmentInput,
    render_quality: str | None = None,
    background_scene: str = "",
    metadata: dict | None = None,
) -> TryOn:
    """Create, charge (1 × quality multiplier) and queue one single try-on; all or nothing, like a cart."""
    metadata = _check_metadata(metadata or {})
    photo = _photo(organization_id=organization_id, photo_key=photo_key)
    quality = _quality(organization_id=organization_id, render_quality=render_quality)
    price = pricing.single_tryon_price(quality=quality)
    with transaction.atomic():
        tryon = _tryon_row(
            organization_id=organization_id,
            photo=photo,
            photo_key=photo_key,
            garment=garment,
            quality=quality,
            background_scene=background_scene,
            credits=price,
            metadata=metadata,
        )
        tryon.save(force_insert=True)
        credits_charge(
            organization_id=organization_id,
            amount=price,
            reference=tryon.id,
            description=f"Try-on of {garment.product_id[:60]} at {quality}",
        )
        tryon_id = tryon.id
        transaction.on_commit(lambda: _enqueue("tryons.process_tryon", tryon_id))
    tryon.estimated_completion_at = tryon_estimated_completion(organization_id=organization_id, item_count=0)
    return tryon


def _enqueue(task_name: str, object_id: str) -> None:
    from tryons import tasks

    {
        "tryons.process_cart_session": tasks.process_cart_session,
        "tryons.process_tryon": tasks.process_tryon,
    }[task_name].delay(object_id)


# --- Processing ------------------------------------------------------------------------------------


def _unsettled() -> Q:
    # A cancelled session still lets its interrupted item finish; its queued items are already cancelled.
    return Q(status__in=CartTryOnSession.ACTIVE) | Q(
        status=CartTryOnSession.Status.CANCELLED, completed_at__isnull=True
    )


def _lease_claim(rows, *, now: datetime) -> str:
    """Claim `rows` (one session or single try-on, filtered to the states a run may take) for a new run.

    Returns the run's lease token, or "" when a live run owns the row. Claimable: nobody owns it (queued, or
    handed over by the sweeper, or left awaiting callbacks), or its owner's heartbeat is older than
    TRYON_HEARTBEAT_TIMEOUT_SECONDS (a dead worker whose message Redis redelivered before the sweeper looked).
    One conditional UPDATE: of two runs racing for a row exactly one wins, in PostgreSQL as in SQLite.
    """
    token = lease_new()
    stale = now - timedelta(seconds=settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)
    queued = Q(status="queued")  # the same word on sessions and try-ons
    claimed = rows.filter(Q(lease="") | Q(heartbeat_at__lt=stale)).update(
        status=Case(When(queued, then=Value("processing")), default=F("status")),
        started_at=Case(When(queued, then=Value(now)), default=F("started_at")),
        lease=token,
        heartbeat_at=now,
    )
    return token if claimed else ""


def cart_session_process(*, session_id: str) -> None:
    """Render a session's items in order, then settle it. Safe to run again for the same session.

    A re-queued run skips finished items, resumes an interrupted one, and stops at the first item a
    cancellation took away. The end state and its webhook event are recorded once (`_session_finish`).
    The run holds the session's lease (tryons.heartbeats) and keeps it alive by heartbeats; a run that finds
    the session owned by a live run (a duplicate or late redelivery) returns at once, and a run that finds
    its lease handed to another run stops before its next item, so two runs never render one session.
    """
    lease = _lease_claim(CartTryOnSession.objects.filter(_unsettled(), pk=session_id), now=timezone.now())
    if not lease:
        return
    item_ids = list(
        TryOn.objects.filter(session_id=session_id).order_by("position").values_list("id", flat=True)
    )
    with Heartbeat(CartTryOnSession, session_id, lease) as heartbeat:
        for item_id in item_ids:
            if heartbeat.lost.is_set():
                return
            _tryon_render(tryon_id=item_id)
            _session_progress(session_id=session_id)
            heartbeat.beat()
        if heartbeat.lost.is_set():
            return
        _session_finish(session_id=session_id)
    heartbeat.release()


def tryon_process(*, tryon_id: str, renderer=None) -> None:
    """Take one try-on from `queued` (or an interrupted `processing`) to its end state.

    A single try-on is processed under its own lease, as a cart session is (`cart_session_process`); a cart
    item belongs to its session's run.

    Download and render are retried with backoff on retryable errors, up to RENDER_MAX_ATTEMPTS counted on
    the row. An asynchronous renderer leaves the item `processing` until its callback arrives.
    """
    single = TryOn.objects.filter(
        pk=tryon_id, session__isnull=True, status__in=[TryOn.Status.QUEUED, TryOn.Status.PROCESSING]
    )
    lease = _lease_claim(single, now=timezone.now())
    if lease:
        with Heartbeat(TryOn, tryon_id, lease) as heartbeat:
            _tryon_render(tryon_id=tryon_id, renderer=renderer)
        heartbeat.release()
    elif TryOn.objects.filter(pk=tryon_id, session__isnull=False).exists():
        _tryon_render(tryon_id=tryon_id, renderer=renderer)


def _tryon_render(*, tryon_id: str, renderer=None) -> None:
    now = timezone.now()
    TryOn.objects.filter(pk=tryon_id, status=TryOn.Status.QUEUED).update(
        status=TryOn.Status.PROCESSING, started_at=now, heartbeat_at=now
    )
    tryon = TryOn.objects.filter(pk=tryon_id).first()
    if tryon is None or tryon.status != TryOn.Status.PROCESSING or tryon.awaiting_callback:
        return
    if tryon.attempts and _adopt_stored_result(tryon):
        return
    renderer = renderer or get_renderer()
    started = time.monotonic()
    while True:
        if tryon.attempts >= RENDER_MAX_ATTEMPTS:
            _tryon_fail(tryon=tryon, code="render_gave_up", message="Rendering kept failing; gave up.")
            return
        tryon.attempts += 1
        job_id = f"{tryon.id}.{tryon.attempts}"
        # Recorded before the attempt: a crash mid-render still uses up one attempt.
        TryOn.objects.filter(pk=tryon.id).update(
            attempts=tryon.attempts, renderer=renderer.name, render_job_id=job_id, heartbeat_at=timezone.now()
        )
        try:
            outcome = renderer.render(_render_request(tryon, job_id=job_id))
            break
        except RetryableRenderError as exc:
            if tryon.attempts >= RENDER_MAX_ATTEMPTS:
                _tryon_fail(tryon=tryon, code=exc.code, message=str(exc))
                return
            logger.info("try-on %s attempt %s failed, retrying: %s", tryon.id, tryon.attempts, exc)
            time.sleep(RENDER_BACKOFF_SECONDS[min(tryon.attempts, len(RENDER_BACKOFF_SECONDS)) - 1])
        except PermanentRenderError as exc:
            _tryon_fail(tryon=tryon, code=exc.code, message=str(exc))
            return
    if isinstance(outcome, RenderAccepted):
        TryOn.objects.filter(
            pk=tryon.id, status=TryOn.Status.PROCESSING, render_job_id=outcome.job_id
        ).update(awaiting_callback=True)
        return
    _tryon_complete(tryon=tryon, result=outcome, elapsed_ms=int((time.monotonic() - started) * 1000))


def _render_request(tryon: TryOn, *, job_id: str) -> RenderRequest:
    return RenderRequest(
        tryon_id=tryon.id,
        organization_id=tryon.organization_id,
        category=tryon.category,
        quality=tryon.render_quality,
        background_scene=tryon.background_scene,
        person_image=_person_image(tryon),
        person_photo_key=tryon.photo_key,
        garment_image=_garment_image(tryon.image_url),
        garment_url=tryon.image_url,
        job_id=job_id,
    )


def _person_image(tryon: TryOn) -> bytes:
    if not tryon.photo_key:
        raise PermanentRenderError("The customer photo was erased.", code="photo_unavailable")
    try:
        return storage_read(tryon.photo_key)
    except FileNotFoundError:
        raise PermanentRenderError(
            "The customer photo is no longer stored.", code="photo_unavailable"
        ) from None
    except OSError as exc:
        raise RetryableRenderError(f"Could not read the customer photo: {type(exc).__name__}") from None


def garment_image_check(data: bytes) -> None:
    """Raise PermanentRenderError unless `data` decodes as a JPEG, PNG or WebP image of sane dimensions."""
    try:
        with Image.open(io.BytesIO(data), formats=GARMENT_FORMATS) as image:
            width, height = image.size
            if width * height > GARMENT_MAX_PIXELS:
                raise PermanentRenderError("The garment image has too many pixels.", code="garment_too_large")
            image.load()
    except PermanentRenderError:
        raise
    except Exception:  # Pillow signals undecodable input with many exception types
        raise PermanentRenderError(
            "The garment image could not be decoded.", code="garment_invalid"
        ) from None


def _garment_image(url: str) -> bytes:
    try:
        body, _ = outbound.fetch_bytes(
            url, max_bytes=settings.GARMENT_MAX_BYTES, timeout=settings.GARMENT_FETCH_TIMEOUT_SECONDS
        )
    except outbound.OutboundBlocked as exc:
        raise PermanentRenderError(f"Garment image URL refused: {exc}", code="garment_url_blocked") from None
    except outbound.OutboundRejected as exc:
        raise PermanentRenderError(f"Garment image unavailable: {exc}", code="garment_unavailable") from None
    except outbound.OutboundFailed as exc:
        raise RetryableRenderError(
            f"Garment download failed: {exc}", code="garment_download_failed"
        ) from None
    garment_image_check(body)
    return body


def _result_key(tryon: TryOn, extension: str) -> str:
    return f"enterprise/org-{tryon.organization_id}/results/{tryon.id}.{extension}"


def _adopt_stored_result(tryon: TryOn) -> bool:
    """A previous run stored the result and died before recording it: record it instead of re-rendering."""
    for extension in ("jpg", "png"):
        key = _result_key(tryon, extension)
        if storage_exists(key):
            _tryon_complete(tryon=tryon, result=None, elapsed_ms=None, stored_key=key)
            return True
    return False


def _tryon_complete(
    *, tryon: TryOn, result: RenderResult | None, elapsed_ms: int | None, stored_key: str = ""
) -> bool:
    """Store the result and mark the try-on completed; False if it was no longer ours to complete."""
    key = stored_key
    if result is not None:
        key = _result_key(tryon, "png" if result.content_type == "image/png" else "jpg")
        storage_save(key, result.image)
    with transaction.atomic():
        # An erasure clears photo_key: a render finishing after it must not leave a result behind.
        updated = (
            TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.PROCESSING)
            .exclude(photo_key="")
            .update(
                status=TryOn.Status.COMPLETED,
                result_key=key,
                completed_at=timezone.now(),
                render_ms=elapsed_ms,
                awaiting_callback=False,
                error_code="",
                error="",
            )
        )
        if updated and tryon.session_id is None:
            tryon.refresh_from_db()
            _record_event(
                organization_id=tryon.organization_id, event="tryon.completed", data=_tryon_event(tryon)
            )
    if not updated:
        current = TryOn.objects.filter(pk=tryon.id).values_list("result_key", flat=True).first()
        if current != key:
            storage_delete(key)
    return bool(updated)


def _tryon_fail(*, tryon: TryOn, code: str, message: str) -> bool:
    """Mark a processing try-on failed and refund it, exactly once.

    Takes its locks in LOCK ORDER (see cart_session_cancel): the session first, then the item, then the
    organization (in credits_refund), so a concurrent cancel queues behind it instead of deadlocking.
    """
    with transaction.atomic():
        if tryon.session_id:
            CartTryOnSession.objects.select_for_update().filter(pk=tryon.session_id).values_list("pk").first()
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
        if tryon.session_id:
            reference = f"{tryon.session_id}:item:{tryon.position}:failed"
            description = f"Refund: item {tryon.position + 1} of {tryon.session_id} failed"
        else:
            reference, description = f"{tryon.id}:failed", f"Refund: try-on {tryon.id} failed"
        credits_refund(
            organization_id=tryon.organization_id,
            amount=tryon.credits,
            reference=reference,
            description=description,
        )
        if tryon.session_id:
            CartTryOnSession.objects.filter(pk=tryon.session_id).update(
                credits_refunded=F("credits_refunded") + tryon.credits
            )
        else:
            tryon.refresh_from_db()
            _record_event(
                organization_id=tryon.organization_id, event="tryon.failed", data=_tryon_event(tryon)
            )
    return True


def _session_progress(*, session_id: str) -> None:
    counts = _item_counts(session_id)
    total = sum(counts.values()) or 1
    done = sum(counts.get(status, 0) for status in TryOn.FINISHED)
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


def _session_finish(*, session_id: str) -> str | None:
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
        _record_event(
            organization_id=session.organization_id, event=f"cart_tryon.{final}", data=_session_event(session)
        )
        return final


# --- Asynchronous results (eventbridge callback) ----------------------------------------------------


def _garment_copy_discard(tryon: TryOn) -> None:
    """The renderer is done with the garment copy its event pointed to; a failure only leaves it behind."""
    from tryons.renderers.eventbridge import garment_copy_delete

    try:
        garment_copy_delete(organization_id=tryon.organization_id, tryon_id=tryon.id)
    except Exception:  # storage backends fail with many types; the result is already recorded
        logger.warning("try-on %s: could not delete the garment copy", tryon.id, exc_info=True)


def tryon_render_callback(
    *, tryon_id: str, job_id: str, succeeded: bool, image: bytes | None = None, error: str = ""
) -> bool:
    """Apply a renderer's callback. Returns False when it is stale (another attempt, already finished).

    Only the job id of the current attempt is accepted, and completion uses the same conditional UPDATE as
    the synchronous path, so a duplicated callback completes, refunds and notifies at most once.
    """
    tryon = TryOn.objects.filter(pk=tryon_id, status=TryOn.Status.PROCESSING, render_job_id=job_id).first()
    if tryon is None:
        return False
    if succeeded:
        try:
            garment_image_check(image or b"")
        except PermanentRenderError:
            applied = _tryon_fail(
                tryon=tryon, code="render_invalid", message="The renderer sent no usable image."
            )
        else:
            content_type = "image/png" if (image or b"").startswith(b"\x89PNG") else "image/jpeg"
            elapsed = (
                int((timezone.now() - tryon.started_at).total_seconds() * 1000) if tryon.started_at else None
            )
            applied = _tryon_complete(
                tryon=tryon, result=RenderResult(image=image, content_type=content_type), elapsed_ms=elapsed
            )
    else:
        applied = _tryon_fail(tryon=tryon, code="render_rejected", message=error or "The renderer failed.")
    if applied:
        _garment_copy_discard(tryon)
    if tryon.session_id:
        _session_progress(session_id=tryon.session_id)
        _session_finish(session_id=tryon.session_id)
    return applied


# --- Cancellation ----------------------------------------------------------------------------------


def cart_session_cancel(*, organization_id: str, session_id: str, actor=None) -> CartTryOnSession:
    """Cancel a queued or processing session and refund every item not yet started, once.

    Queued: everything is refunded. Processing: the item being rendered finishes (and is charged if it
    succeeds), the items still queued are refunded. Items and the session are locked first, so the worker's
    `queued → processing` claim on an item either happened before (it renders) or finds it cancelled.
    Cancelling twice returns the cancelled session; a finished session is a 409 Conflict. `actor` is the
    staff user cancelling from the admin (None for a partner's API call); the refund records it.

    LOCK ORDER, everywhere a transaction holds more than one of these rows: cart session → its try-on
    items → organization (the credit ledger). A failing item (`_tryon_fail`) used to hold item and
    organization before asking for the session while a cancel held the session and asked for the
    organization: PostgreSQL broke the cycle by killing one of them ("deadlock detected").
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
            .filter(session_id=session_id, status=TryOn.Status.QUEUED)
            .values_list("id", "credits")
        )
        TryOn.objects.filter(pk__in=[pk for pk, _ in pending], status=TryOn.Status.QUEUED).update(
            status=TryOn.Status.CANCELLED, credits_refunded=F("credits"), completed_at=now
        )
        refund = sum((credits for _, credits in pending), Decimal("0"))
        credits_refund(
            organization_id=organization_id,
            amount=refund,
            reference=f"{session_id}:cancel",
            description=f"Refund: cancelled {len(pending)} item(s) of {session_id}",
            actor=actor,
        )
        running = TryOn.objects.filter(session_id=session_id, status=TryOn.Status.PROCESSING).exists()
        CartTryOnSession.objects.filter(pk=session_id).update(
            status=CartTryOnSession.Status.CANCELLED,
            cancelled_at=now,
            completed_at=None if running else now,
            credits_refunded=F("credits_refunded") + refund,
        )
    session.refresh_from_db()
    return session


# --- Sweeper ---------------------------------------------------------------------------------------


def tryon_sweep_stuck(*, now: datetime | None = None) -> dict[str, int]:
    """Hand dead or forgotten work to a new run; run by beat every TRYON_SWEEP_INTERVAL_SECONDS.

    Dead: a run owns it (a lease) but its heartbeat is older than TRYON_HEARTBEAT_TIMEOUT_SECONDS — the worker
    was killed. Forgotten: nobody owns it and nothing touched it for TRYON_STUCK_AFTER_SECONDS — a lost
    message, a callback that never came. Either is re-queued without a lease, so the next run to arrive claims
    it (`_lease_claim`); item state makes that safe: finished items are not rendered again, nothing is charged
    again. After SWEEP_REQUEUE_LIMIT hand-overs without an item finishing, unfinished items fail and are
    refunded, and the session settles. Each hand-over is a conditional UPDATE on the heartbeat and lease
    seen, so two sweepers never act on one session.
    """
    now = now or timezone.now()
    dead = ~Q(lease="") & Q(
        heartbeat_at__lt=now - timedelta(seconds=settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)
    )
    forgotten = Q(lease="", heartbeat_at__lt=now - timedelta(seconds=settings.TRYON_STUCK_AFTER_SECONDS))
    report = {"requeued": 0, "failed": 0}
    stuck_sessions = CartTryOnSession.objects.filter(_unsettled(), dead | forgotten).values_list(
        "id", "heartbeat_at", "lease", "sweep_count"
    )
    for session_id, heartbeat, lease, sweeps in stuck_sessions[:200]:
        claimed = CartTryOnSession.objects.filter(pk=session_id, heartbeat_at=heartbeat, lease=lease).update(
            heartbeat_at=now, lease="", sweep_count=F("sweep_count") + 1
        )
        if not claimed:
            continue
        if sweeps < SWEEP_REQUEUE_LIMIT:
            if lease:
                logger.warning("cart session %s: its worker stopped beating; resuming it", session_id)
            _enqueue("tryons.process_cart_session", session_id)
            report["requeued"] += 1
            continue
        CartTryOnSession.objects.filter(pk=session_id, status=CartTryOnSession.Status.QUEUED).update(
            status=CartTryOnSession.Status.PROCESSING, started_at=now
        )
        for tryon in TryOn.objects.filter(session_id=session_id).exclude(status__in=TryOn.FINISHED):
            _tryon_timeout(tryon)
        _session_finish(session_id=session_id)
        report["failed"] += 1

    stuck_singles = TryOn.objects.filter(
        dead | forgotten, session__isnull=True, status__in=[TryOn.Status.QUEUED, TryOn.Status.PROCESSING]
    ).values_list("id", "heartbeat_at", "lease", "sweep_count")
    for tryon_id, heartbeat, lease, sweeps in stuck_singles[:200]:
        claimed = TryOn.objects.filter(pk=tryon_id, heartbeat_at=heartbeat, lease=lease).update(
            heartbeat_at=now, lease="", sweep_count=F("sweep_count") + 1
        )
        if not claimed:
            continue
        if sweeps < SWEEP_REQUEUE_LIMIT:
            _enqueue("tryons.process_tryon", tryon_id)
            report["requeued"] += 1
        else:
            _tryon_timeout(TryOn.objects.get(pk=tryon_id))
            report["failed"] += 1
    return report


def _tryon_timeout(tryon: TryOn) -> None:
    TryOn.objects.filter(pk=tryon.id, status=TryOn.Status.QUEUED).update(status=TryOn.Status.PROCESSING)
    _tryon_fail(tryon=tryon, code="timed_out", message="Rendering did not finish in time.")


# --- Erasure ---------------------------------------------------------------------------------------


def customer_results_erase(*, customer_id: str) -> list[str]:
    """Forget the results and photo references of a customer's try-ons; return the storage keys to delete.

    Sessions, items and their credits stay (billing history). Clearing `photo_key` also stops a render that
    is still running from recording a result afterwards (see `_tryon_complete`).
    """
    with transaction.atomic():
        tryons = TryOn.objects.select_for_update().filter(customer_id=customer_id)
        keys = [key for key in tryons.values_list("result_key", flat=True) if key]
        tryons.update(result_key="", photo_key="")
        CartTryOnSession.objects.filter(customer_id=customer_id).update(photo_key="")
    return keys


# --- Webhook events --------------------------------------------------------------------------------


def _record_event(*, organization_id: str, event: str, data: dict) -> None:
    # In the caller's transaction: the event (outbox row) commits with the end state or not at all.
    webhook_event_record(organization_id=organization_id, event=event, data=data)


def result_url(tryon: TryOn) -> str | None:
    return storage_signed_url(tryon.result_key) if tryon.result_key else None


def _session_event(session: CartTryOnSession) -> dict:
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
        "results": [
            {
                "productId": item.product_id,
                "variantId": item.variant_id or None,
                "status": item.status,
                "resultUrl": result_url(item),
                "error": item.error or None,
            }
            for item in items
        ],
    }


def _tryon_event(tryon: TryOn) -> dict:
    return {
        "tryonId": tryon.id,
        "organizationId": tryon.organization_id,
        "status": tryon.status,
        "productId": tryon.product_id,
        "variantId": tryon.variant_id or None,
        "resultUrl": result_url(tryon),
        "error": tryon.error or None,
        "creditsCharged": credits_number(tryon.credits),
        "creditsRefunded": credits_number(tryon.credits_refunded),
    }
