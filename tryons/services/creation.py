"""Creating try-ons: validate, price, write the rows and the charge together, queue the run on commit."""

import contextlib
import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework import serializers

from api.errors import ValidationError
from api.ids import new_id
from api.metadata import metadata_validate
from customers.selectors import photo_for_key
from infrastructure.bulk_insert import rows_insert
from infrastructure.observability import metrics
from infrastructure.shared_cache import shared_counter_add, shared_counter_start, shared_counters_get
from organizations.models import Organization
from organizations.services import credits_charge
from tryons import pricing
from tryons.catalogue.services import catalogue_items
from tryons.controls import CartControls, sample_seed
from tryons.inputs import GarmentInput
from tryons.looks import looks_resolve
from tryons.models import CartTryOnSession, TryOn
from tryons.services import queue
from tryons.services.looks import looks_rows

# Per-item duration assumed for estimatedCompletionTime until there is history to measure.
DEFAULT_ITEM_SECONDS = 8.0
ETA_SAMPLE_SIZE = 50
# Queued items counted into an estimate: 2,000 items are hours of rendering, and counting stays cheap.
BACKLOG_COUNT_LIMIT = 2000
# How long an estimate's inputs are reused. Under a burst of creates the backlog count was most of
# PostgreSQL's work per create (its fresh index entries all need a heap visit): 11.8 of ~15 ms at 16
# connections. Creates in between add their items to the cached backlog, so a burst still sees itself.
ESTIMATE_CACHE_SECONDS = 5
ETA_PER_ITEM_KEY = "tryons:eta-ms-per-item"


# What differs between the item rows of one cart: the garment, its controls and the row's own id, position
# and sample.
CART_ITEM_VARYING_FIELDS = frozenset(
    {
        "id",
        "position",
        "sample",
        "garment_photo_type",
        "seed",
        "seed_given",
        "output_format",
        "reuse",
        "product_id",
        "variant_id",
        "name",
        "image_url",
        "category",
        "quantity",
        "price",
        "currency",
    }
)


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
    # The serializers have checked it already; callers that skip them (admin, bench) meet the same rule.
    try:
        return metadata_validate(metadata)
    except serializers.ValidationError as exc:
        raise ValidationError(details={"metadata": [str(message) for message in exc.detail]}) from None


def tryon_estimated_completion(*, organization_id: str, item_count: int) -> datetime:
    """When `item_count` new items should be done: recent per-item durations × (items + org backlog).

    The backlog is counted up to BACKLOG_COUNT_LIMIT items through the partial index of live items
    (`tryon_org_backlog`), so the estimate costs the same for an organization with a huge queue as for an
    idle one; beyond the limit it says "at least this late". Both inputs are reused for
    ESTIMATE_CACHE_SECONDS from the shared cache (without it, e.g. Redis down, they are read every time).
    """
    per_item_key, backlog_key = ETA_PER_ITEM_KEY, _backlog_cache_key(organization_id)
    try:
        per_item_ms, backlog = shared_counters_get([per_item_key, backlog_key])
    except RedisError:
        per_item_ms = backlog = None
    if per_item_ms is None:
        recent = list(
            TryOn.objects.filter(status=TryOn.Status.COMPLETED, render_ms__isnull=False)
            .order_by("-completed_at")
            .values_list("render_ms", flat=True)[:ETA_SAMPLE_SIZE]
        )
        per_item_ms = round(sum(recent) / len(recent)) if recent else round(DEFAULT_ITEM_SECONDS * 1000)
        _cache_start(per_item_key, per_item_ms)
    if backlog is None:
        backlog = (
            TryOn.objects.filter(organization_id=organization_id, status__in=TryOn.ACTIVE)
            .values("pk")[:BACKLOG_COUNT_LIMIT]
            .count()
        )
        _cache_start(backlog_key, backlog)
    return timezone.now() + timedelta(seconds=per_item_ms / 1000 * (item_count + backlog))


def _backlog_cache_key(organization_id: str) -> str:
    return f"tryons:backlog:{organization_id}"


def _cache_start(key: str, value: int) -> None:
    with contextlib.suppress(RedisError):
        shared_counter_start(key, value, ESTIMATE_CACHE_SECONDS)


def _backlog_grew(organization_id: str, items: int) -> None:
    """Add committed new items to a cached backlog count (none cached: the next estimate counts)."""
    with contextlib.suppress(RedisError):
        shared_counter_add(_backlog_cache_key(organization_id), items)


def cart_session_create(
    *,
    organization_id: str,
    cart_id: str,
    photo_key: str,
    items: list[GarmentInput],
    render_quality: str | None = None,
    background_scene: str = "",
    metadata: dict | None = None,
    looks=None,
    render_items: bool = True,
    controls: CartControls | None = None,
) -> tuple[CartTryOnSession, bool]:
    """Create, charge and queue a cart session. Returns (session, created).

    `looks` ("auto", or a list of {"lookId"?, "items"}: tryons.looks) adds looks of the cart's garments;
    `render_items=False` renders only the looks (its items are then `skipped`, and not charged).
    `controls` (tryons.controls) apply to every item that does not set its own; an item of n samples is n
    rows at its position, one render each.

    The session, its items and the ledger charge commit together or not at all: too few credits raise
    InsufficientCredits and leave nothing behind. A create repeating a live session's cartId and content
    returns that session unchanged and charges nothing — also when two such requests race, because the
    second insert hits a unique index and rolls back its charge with it. The processing task is queued only
    after commit. A created session carries the item rows it wrote, in cart order, as `written_items`: its
    answer needs no read-back (`session.items` still reads the database).
    """
    if not 1 <= len(items) <= pricing.MAX_CART_ITEMS:
        raise ValidationError(details={"cartItems": [f"Must hold 1 to {pricing.MAX_CART_ITEMS} items."]})
    metadata = _check_metadata(metadata or {})
    controls = controls or CartControls()
    items = catalogue_items(organization_id, items)
    resolved = looks_resolve(looks, items) if looks else []
    if not render_items and not resolved:
        raise ValidationError(
            "renderItems: false renders only the looks, and this cart asks for none.",
            details={"renderItems": ["Give looks, or render the items."]},
        )
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
                # Only when asked: a cart without looks hashes as it always did.
                **({"looks": [[look.look_id, *look.positions] for look in resolved]} if resolved else {}),
                **({} if render_items else {"renderItems": False}),
                **controls.given(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    asked = [controls.for_item(item) for item in items]
    price = pricing.cart_pricing(
        quality=quality,
        item_count=len(items),
        samples=[samples for samples, _ in asked],
        look_sizes=[len(look.positions) for look in resolved],
        render_items=render_items,
    )
    per_item = price.per_render if render_items else Decimal("0")
    total = price.total
    session_id = new_id("cts")
    renders = price.item_renders + price.look_renders  # what the estimate waits for: every render
    estimate = tryon_estimated_completion(organization_id=organization_id, item_count=renders)
    try:
        # A repeated create is found by the unique index on its live content, not by a look-up first:
        # its insert fails before anything is charged, and new carts (nearly all) skip a round trip.
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
                look_count=len(resolved),
                render_items=render_items,
                credits_required=total,
                credits_charged=total,
                estimated_completion_at=estimate,
            )
            rows = [
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
                    sample=sample,
                    garment_photo_type=asked_controls.garment_photo_type,
                    seed=None if asked_controls.seed is None else sample_seed(asked_controls.seed, sample),
                    seed_given=item.seed is not None or controls.seed is not None,
                    output_format=asked_controls.output_format,
                    reuse=controls.reuse_for(item),
                    **({} if render_items else {"status": TryOn.Status.SKIPPED}),
                )
                for position, (item, (samples, asked_controls)) in enumerate(zip(items, asked, strict=True))
                # Not rendered alone (renderItems: false): one row stands for the item, its looks' garment.
                for sample in range(samples if render_items else 1)
            ]
            rows_insert(rows, varying=CART_ITEM_VARYING_FIELDS)
            if resolved:
                session.written_looks = looks_rows(
                    session=session, looks=resolved, render_items=render_items, per_render=price.per_render
                )
            # Charged last: the organization row stays locked from here to the commit, and every other
            # create of this organization waits for it.
            _charge_and_queue(
                organization_id=organization_id,
                amount=total,
                owner_id=session_id,
                description=f"Cart try-on {cart_id[:60]}: {len(items)} item(s)"
                + (f" and {len(resolved)} look(s)" if resolved else "")
                + f" at {quality}",
                task="tryons.process_cart_session",
            )
            transaction.on_commit(lambda: metrics.cart_session_entered(CartTryOnSession.Status.QUEUED))
            transaction.on_commit(lambda: _backlog_grew(organization_id, len(rows)))
    except IntegrityError:
        existing = _live_session(organization_id=organization_id, cart_id=cart_id, content_hash=content_hash)
        if existing is None:
            raise
        return existing, False
    session.customer = photo.customer  # loaded with the photo
    session.written_items = rows
    return session, True


def _live_session(*, organization_id: str, cart_id: str, content_hash: str) -> CartTryOnSession | None:
    return (
        CartTryOnSession.objects.filter(
            organization_id=organization_id,
            cart_id=cart_id,
            content_hash=content_hash,
            status__in=CartTryOnSession.LIVE,
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
        _charge_and_queue(
            organization_id=organization_id,
            amount=price,
            owner_id=tryon.id,
            description=f"Try-on of {garment.product_id[:60]} at {quality}",
            task="tryons.process_tryon",
        )
        transaction.on_commit(lambda: _backlog_grew(organization_id, 1))
    tryon.estimated_completion_at = tryon_estimated_completion(organization_id=organization_id, item_count=0)
    return tryon


def _charge_and_queue(*, organization_id: str, amount, owner_id: str, description: str, task: str) -> None:
    """Charge a new session or single try-on under its own id, in the caller's transaction; queue its run
    once that commits. The id as reference is what makes a repeated create unable to charge twice."""
    credits_charge(
        organization_id=organization_id,
        amount=amount,
        reference=owner_id,
        description=description,
        new_reference=True,
    )
    transaction.on_commit(lambda: queue.enqueue(task, owner_id))
