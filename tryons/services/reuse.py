"""Handing out an identical earlier render (tryons.reuse) instead of rendering again: looked up among the
organization's completed renders of the last RENDER_REUSE_DAYS, copied to the new render's own result (so
erasing one customer's images never takes another's), and completed at the organization's reused price
(`reusedRenderPrice`, the rest refunded; tryons.services.settlement)."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from infrastructure.storage import storage_delete, storage_read, storage_save
from tryons.engines import ENGINES, engine_settings
from tryons.models import TryOn
from tryons.reuse import image_digest, reuse_key
from tryons.services.settlement import result_key, settlement_for, tryon_complete

logger = logging.getLogger(__name__)


def render_key(tryon: TryOn, *, person: str, garment: bytes, renderer: str) -> str:
    """`tryon`'s reuse key when `renderer` renders it from these images (`person` already a digest)."""
    model = engine_settings().model(renderer) if renderer in ENGINES else ""
    return reuse_key(
        person=person, garment=image_digest(garment), tryon=tryon, renderer=renderer, model=model
    )


def render_reused(tryon: TryOn, key: str) -> bool:
    """Record `tryon`'s reuse key (its render may be handed out later); if an identical earlier render may be
    handed out now, complete `tryon` with a copy of its image and return True (also when `tryon` turned out
    to have ended meanwhile: there is nothing left to render)."""
    return tryon.pk in renders_reused([(tryon, key)])


# Candidates read for one batch: far more than a cart's 80 sample rows can take.
CANDIDATES_LIMIT = 500


def renders_reused(pairs: list[tuple[TryOn, str]]) -> set[str]:
    """`render_reused` for a batch of one organization's renders, (row, key) each, in a few statements: the
    keys recorded in one, the candidates read in one; only a render reused costs more (its copy and its
    completion). Returns the ids handed an earlier render. Samples of one item without a given seed take
    distinct renders: never a sibling's, nor one a sibling took."""
    if not pairs:
        return set()
    for tryon, key in pairs:
        tryon.reuse_key = key
    TryOn.objects.bulk_update([tryon for tryon, _ in pairs], ["reuse_key"])
    wanting = [(tryon, key) for tryon, key in pairs if tryon.reuse]
    if not wanting or not settings.RENDER_REUSE_DAYS:
        return set()
    since = timezone.now() - timedelta(days=settings.RENDER_REUSE_DAYS)
    candidates = list(
        TryOn.objects.filter(
            organization_id=wanting[0][0].organization_id,
            reuse_key__in={key for _, key in wanting},
            status=TryOn.Status.COMPLETED,
            completed_at__gte=since,
        )
        .exclude(result_key="")
        .exclude(pk__in=[tryon.pk for tryon, _ in pairs])
        .order_by("-completed_at")
        .only("id", "reuse_key", "result_key", "result_info")[:CANDIDATES_LIMIT]
    )
    if not candidates:
        return set()  # the usual case: nothing like it was rendered before
    taken = _taken_by_items(tryon for tryon, _ in wanting)
    reused = set()
    for tryon, key in wanting:
        item = (tryon.session_id, tryon.position) if tryon.session_id else tryon.pk
        mine = taken.setdefault(item, set())
        source = next((c for c in candidates if c.reuse_key == key and c.pk not in mine), None)
        if source is not None and _reuse(tryon, source):
            mine.add(source.pk)
            reused.add(tryon.pk)
    return reused


def _taken_by_items(tryons) -> dict:
    """Per cart item (session, position): its rows and the renders they took, which its other samples may
    not take again."""
    items: dict[str, set[int]] = {}
    for tryon in tryons:
        if tryon.session_id:
            items.setdefault(tryon.session_id, set()).add(tryon.position)
    taken: dict = {}
    for session_id, positions in items.items():
        rows = TryOn.objects.filter(session_id=session_id, position__in=positions).values_list(
            "id", "position", "reused_from"
        )
        for row_id, position, reused_from in rows:
            taken.setdefault((session_id, position), set()).update({row_id, reused_from} - {""})
    return taken


def _reuse(tryon: TryOn, source: TryOn) -> bool:
    """Complete `tryon` with a copy of `source`'s image; False if it cannot be had (render it instead)."""
    started = time.monotonic()
    # Named before the copy: a worker dying after it leaves a stored result that the next run adopts as the
    # reuse it is, priced as one (processing._adopt_stored_result), never as a fresh render.
    TryOn.objects.filter(pk=tryon.pk).update(reused_from=source.pk)
    try:
        image = storage_read(source.result_key)
        copy = result_key(tryon, source.result_key.rsplit(".", 1)[-1])
        storage_save(copy, image)
    except OSError:  # the earlier image is gone (erased meanwhile) or storage failed: render it instead
        logger.info("try-on %s: could not copy reusable render %s; rendering", tryon.pk, source.pk)
        TryOn.objects.filter(pk=tryon.pk, status=TryOn.Status.PROCESSING).update(reused_from="")
        return False
    with transaction.atomic():
        # LOCK ORDER: the session (or look) first, as every ending does, then the source: an erasure that
        # took the source first has cleared its key by now, and one that comes after waits for this copy
        # (and erases it too when it is the same customer's).
        settlement_for(tryon).lock()
        alive = (
            TryOn.objects.select_for_update()
            .filter(pk=source.pk, reuse_key=source.reuse_key)
            .exclude(result_key="")
            .exists()
        )
        if alive:
            tryon_complete(
                tryon=tryon,
                result=None,
                elapsed_ms=int((time.monotonic() - started) * 1000),
                stored_key=copy,
                stored_info=source.result_info,
                reused_from=source.pk,
            )
    if not alive:
        TryOn.objects.filter(pk=tryon.pk, status=TryOn.Status.PROCESSING).update(reused_from="")
        storage_delete(copy)
    return alive
