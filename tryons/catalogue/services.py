"""The garment catalogue's services: upsert, delete and refresh a garment; the worker's fetch of its image;
and the stored copy a cart item uses instead of downloading the garment again."""

import io
import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from api.errors import ResourceNotFound, ValidationError
from api.events import event_emit
from infrastructure.outbound import Fetched
from infrastructure.storage import storage_delete, storage_read, storage_save
from organizations.partner_ids import partner_storage_key
from tryons.catalogue import events
from tryons.catalogue.models import Garment
from tryons.images import image_extension
from tryons.renderers.base import PermanentRenderError, RetryableRenderError
from tryons.reuse import image_digest
from tryons.services import queue
from tryons.services.engine_io import fan_out
from tryons.services.garments import garment_image_download, garment_image_fetch

logger = logging.getLogger(__name__)

FETCH_TASK = "tryons.fetch_garment"
# The fields whose change means a new image: the copy is fetched again.
_REFETCHED_BY = ("image_url",)
# A fetch the shop's server failed is tried again after each of these delays before the garment is `failed`.
FETCH_RETRY_SECONDS = (30, 120, 600)
# What a refetch resets (_reset), saved with the fields the partner changed.
_RESET_FIELDS = ["status", "error_code", "error", "fetch_generation"]


def garment_upsert(
    *, organization_id: str, product_id: str, variant_id: str = "", **fields
) -> tuple[Garment, bool]:
    """Create the organization's garment (product, variant) or update the given fields; -> (garment,
    created). A new garment, or a new imageUrl, is fetched by the worker (status `pending` until then).

    Concurrent creators: the unique (organization, product, variant) constraint decides; the loser's insert
    fails in a savepoint and it updates the winner's row instead, so one product never yields two rows."""
    for _ in range(2):
        with transaction.atomic():
            garment = (
                Garment.objects.select_for_update()
                .filter(organization_id=organization_id, product_id=product_id, variant_id=variant_id)
                .first()
            )
            if garment is None:
                try:
                    with transaction.atomic():
                        garment = Garment.objects.create(
                            organization_id=organization_id,
                            product_id=product_id,
                            variant_id=variant_id,
                            **fields,
                        )
                except IntegrityError:
                    continue  # created meanwhile: update it
                _fetch_later(garment)
                return garment, True
            refetch = any(name in fields and fields[name] != getattr(garment, name) for name in _REFETCHED_BY)
            for name, value in fields.items():
                setattr(garment, name, value)
            if refetch:
                _reset(garment)
            garment.save(update_fields=[*fields, *(_RESET_FIELDS if refetch else []), "updated_at"])
            if refetch:
                _fetch_later(garment)
            return garment, False
    raise AssertionError("a garment created concurrently could not be found")  # pragma: no cover


def _reset(garment: Garment) -> None:
    """Back to `pending`: its copy stays usable by nobody (the URL changed) until the new one is fetched."""
    garment.status = Garment.Status.PENDING
    garment.error_code = garment.error = ""
    garment.fetch_generation += 1


def _fetch_later(garment: Garment) -> None:
    garment_id, generation = garment.pk, garment.fetch_generation
    transaction.on_commit(lambda: queue.enqueue(FETCH_TASK, f"{garment_id}:{generation}"))


def garment_get(*, organization_id: str, garment_id: str) -> Garment:
    garment = Garment.objects.filter(organization_id=organization_id, pk=garment_id).first()
    if garment is None:
        raise ResourceNotFound("Garment not found.", details={"garmentId": garment_id})
    return garment


def garment_refresh(*, organization_id: str, garment_id: str) -> Garment:
    """Fetch the garment's image again (the shop changed it behind the same URL, or a fetch failed)."""
    with transaction.atomic():
        garment = garment_get(organization_id=organization_id, garment_id=garment_id)
        Garment.objects.filter(pk=garment.pk).update(
            status=Garment.Status.PENDING, error_code="", error="", fetch_generation=F("fetch_generation") + 1
        )
        garment.refresh_from_db()
        _fetch_later(garment)
    return garment


def garment_delete(*, organization_id: str, garment_id: str) -> None:
    """Delete the garment and our copy of its image; carts that used it keep their results."""
    garment = garment_get(organization_id=organization_id, garment_id=garment_id)
    key = garment.image_key
    garment.delete()
    if key:
        transaction.on_commit(lambda: storage_delete(key))


def garment_fetch(*, job: str) -> str:
    """The worker's fetch of a garment's image (`job` is "<garment id>:<generation>[:<attempt>]"): downloaded
    through the outbound guard with the cart downloads' limits, decoded and checked, stored as our copy with
    the server's validators, and the garment marked `ready` (or `failed` with its error code), with its
    event. A shop's server that fails is asked again after each of FETCH_RETRY_SECONDS, the garment
    `pending` meanwhile. A fetch for an older generation (the URL changed, or a refresh came, meanwhile)
    changes nothing. Returns the status recorded."""
    garment_id, generation, attempt = (job.split(":") + ["0", "0"])[:3]
    generation, attempt = int(generation or 0), int(attempt or 0)
    garment = Garment.objects.filter(pk=garment_id, fetch_generation=generation).first()
    if garment is None:
        return "stale"
    try:
        fetched = garment_image_fetch(garment.image_url)
    except RetryableRenderError as exc:
        if attempt < len(FETCH_RETRY_SECONDS):
            logger.info("garment %s: fetch %d failed (%s), retrying", garment.pk, attempt + 1, exc.code)
            queue.enqueue_later(
                FETCH_TASK, f"{garment.pk}:{generation}:{attempt + 1}", countdown=FETCH_RETRY_SECONDS[attempt]
            )
            return "retrying"
        return _fetch_failed(garment, generation, exc.code, str(exc))
    except PermanentRenderError as exc:
        return _fetch_failed(garment, generation, exc.code, str(exc))
    image = fetched.body
    key = partner_storage_key(
        organization_id=garment.organization_id,
        kind="garments",
        object_id=f"{garment.pk}-{generation}",
        extension=image_extension(image),
    )
    storage_save(key, image)
    with Image.open(io.BytesIO(image)) as decoded:
        width, height = decoded.size
    now = timezone.now()
    with transaction.atomic():
        old = Garment.objects.filter(pk=garment.pk).values_list("image_key", flat=True).first()
        updated = Garment.objects.filter(pk=garment.pk, fetch_generation=generation).update(
            status=Garment.Status.READY,
            image_key=key,
            image_digest=image_digest(image),
            image_bytes=len(image),
            image_etag=fetched.etag,
            image_last_modified=fetched.last_modified,
            width=width,
            height=height,
            fetched_at=now,
            revalidated_at=now,
            error_code="",
            error="",
        )
        if not updated:
            transaction.on_commit(lambda: storage_delete(key))
            return "stale"
        garment.refresh_from_db()
        event_emit(events.GARMENT_READY, organization_id=garment.organization_id, garment=garment)
    if old and old != key:
        storage_delete(old)
    return str(Garment.Status.READY)


def _fetch_failed(garment: Garment, generation: int, code: str, message: str) -> str:
    with transaction.atomic():
        updated = Garment.objects.filter(pk=garment.pk, fetch_generation=generation).update(
            status=Garment.Status.FAILED, error_code=code[:40], error=message[:500]
        )
        if updated:
            garment.refresh_from_db()
            event_emit(events.GARMENT_FAILED, organization_id=garment.organization_id, garment=garment)
    return str(Garment.Status.FAILED) if updated else "stale"


def catalogue_copies(*, organization_id: str, urls: list[str]) -> tuple[dict[str, bytes], dict[str, list]]:
    """For a batch's garment URLs, in one query: the stored copies of the organization's ready garments at
    those URLs checked less than GARMENT_REVALIDATE_SECONDS ago, by URL; and the ready garments whose check
    is due, by URL (for `catalogue_revalidated`)."""
    fresh_since = timezone.now() - timedelta(seconds=settings.GARMENT_REVALIDATE_SECONDS)
    garments = Garment.objects.filter(
        organization_id=organization_id, image_url__in=set(urls), status=Garment.Status.READY
    ).only(
        "id",
        "image_url",
        "image_key",
        "image_digest",
        "image_etag",
        "image_last_modified",
        "revalidated_at",
        "fetch_generation",
    )
    copies, due = {}, {}
    for garment in garments:
        if garment.image_url in copies:
            continue
        if garment.revalidated_at and garment.revalidated_at >= fresh_since:
            try:
                copies[garment.image_url] = storage_read(garment.image_key)
                continue
            except OSError:  # our copy is gone (deleted meanwhile): download the URL instead
                pass
        due.setdefault(garment.image_url, []).append(garment)
    for url in copies:
        due.pop(url, None)
    return copies, due


def catalogue_revalidated(due: dict[str, list[Garment]]) -> dict[str, bytes | Exception]:
    """The image for each due URL, its garments revalidated: a conditional GET with our copy's validators
    (a plain GET where the shop's server sent none). Unchanged (304, or the same bytes), our copy is used
    and checked again after GARMENT_REVALIDATE_SECONDS; changed, the new image is used and the garment
    fetched again; the shop's server failing, our copy is used and checked at the next cart; the image gone
    or refused, the error is the item's, as for an uncatalogued item."""
    urls = list(due)
    answers = fan_out(lambda url: _ask(due[url][0]), urls)
    images = {}
    for url, (answer, outcome) in zip(urls, answers, strict=True):
        if outcome == "unchanged":
            Garment.objects.filter(pk__in=[garment.pk for garment in due[url]]).update(
                revalidated_at=timezone.now()
            )
        elif outcome == "fetched":
            catalogue_revalidate(due[url], answer)
        elif outcome == "lost":
            for garment in due[url]:
                _fetch_again(garment)
        images[url] = answer.body if isinstance(answer, Fetched) else answer
    return images


def _ask(garment: Garment) -> tuple[Fetched | bytes | Exception, str]:
    """On a fan-out thread: (image or error, "unchanged" | "fetched" | "lost" | "stale" | "failed")."""
    try:
        fetched = garment_image_fetch(
            garment.image_url, etag=garment.image_etag, last_modified=garment.image_last_modified
        )
        if not fetched.not_modified:
            return fetched, "fetched"
        return replace(fetched, body=storage_read(garment.image_key)), "unchanged"
    except RetryableRenderError as exc:
        try:
            return Fetched(storage_read(garment.image_key)), "stale"
        except OSError:
            return exc, "failed"
    except PermanentRenderError as exc:
        return exc, "failed"
    except OSError:  # unchanged, but our copy is gone: the image as downloaded, and the garment fetched again
        try:
            return garment_image_fetch(garment.image_url), "lost"
        except (RetryableRenderError, PermanentRenderError) as exc:
            return exc, "failed"


def catalogue_revalidate(garments: list[Garment], fetched: Fetched) -> None:
    """`fetched` was just downloaded from these ready garments' URL: the same as our copy, they are checked
    until the next GARMENT_REVALIDATE_SECONDS (with the server's new validators); changed behind the URL,
    they are fetched again."""
    digest = image_digest(fetched.body)
    for garment in garments:
        if garment.image_digest == digest:
            Garment.objects.filter(pk=garment.pk).update(
                revalidated_at=timezone.now(),
                image_etag=fetched.etag,
                image_last_modified=fetched.last_modified,
            )
            continue
        logger.info("garment %s: its image changed behind its URL; fetching it again", garment.pk)
        _fetch_again(garment)


def _fetch_again(garment: Garment) -> None:
    with transaction.atomic():
        # Pending until fetched again: later carts download the URL meanwhile, and start no fetch of their
        # own (only a ready garment is revalidated).
        changed = Garment.objects.filter(pk=garment.pk, status=Garment.Status.READY).update(
            status=Garment.Status.PENDING, fetch_generation=F("fetch_generation") + 1
        )
        if changed:
            garment.refresh_from_db()
            _fetch_later(garment)


def garment_image_for(*, organization_id: str, url: str) -> bytes:
    """A cart item's garment image: the catalogue's copy while fresh, revalidated when due, else downloaded.
    Raises as garment_image_download does."""
    copies, due = catalogue_copies(organization_id=organization_id, urls=[url])
    if url in copies:
        return copies[url]
    if url not in due:
        return garment_image_download(url)
    image = catalogue_revalidated(due)[url]
    if isinstance(image, Exception):
        raise image
    return image


def catalogue_items(organization_id: str, items: list) -> list:
    """Cart items (tryons.inputs.GarmentInput) naming a catalogue garment (`garmentId`) take its imageUrl,
    and its category, name and garmentPhotoType where they give none; one query for the cart. An id that is
    not one of the organization's garments is a 400 naming the item."""
    ids = {item.garment_id for item in items if item.garment_id}
    if not ids:
        return items
    garments = Garment.objects.filter(organization_id=organization_id, pk__in=ids).in_bulk()
    unknown = [
        {"garmentId": ["No garment of this organization has this id."]}
        if item.garment_id and item.garment_id not in garments
        else {}
        for item in items
    ]
    if any(unknown):
        raise ValidationError(details={"cartItems": unknown})
    return [
        replace(
            item,
            image_url=garments[item.garment_id].image_url,
            category=item.category or garments[item.garment_id].category,
            name=item.name or garments[item.garment_id].name,
            garment_photo_type=item.garment_photo_type or garments[item.garment_id].garment_photo_type,
        )
        if item.garment_id
        else item
        for item in items
    ]


def garment_list(*, organization_id: str, category: str | None = None, status: str | None = None):
    """The organization's garments newest first, filtered by category and status when given."""
    garments = Garment.objects.filter(organization_id=organization_id)
    if category:
        garments = garments.filter(category=category)
    if status:
        garments = garments.filter(status=status)
    return garments.order_by("-created_at", "-id")
