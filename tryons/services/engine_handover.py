"""A cart's items handed to a hosted engine in one batch: claimed together, their garments fetched side by
side, their jobs recorded and submitted together.

Item by item, a hand-over costs about fifteen statements (claim, reads, the job row, admission, the
provider's id); as one batch it costs about a dozen for the whole cart plus one per item, and the garment
downloads and submits overlap on threads that never touch the database. What this batch cannot take — an
item resumed after a crash, a staff re-run, a garment download that may work on a second try — is left to
the session's in-order loop (`processing._tryon_render`), which renders it the usual way.
"""

import logging
import time

from django.db import connection
from django.utils import timezone

from infrastructure.observability import metrics, tracing
from infrastructure.storage import storage_delete, storage_read
from tryons.catalogue.services import catalogue_copies, catalogue_revalidated
from tryons.models import EngineJob, TryOn
from tryons.renderers.base import PermanentRenderError, RetryableRenderError
from tryons.reuse import image_digest
from tryons.services.engine_io import fan_out
from tryons.services.engine_jobs import Aftermath, engine_garment_store, engine_job_record, engine_jobs_submit
from tryons.services.garments import garment_image_download
from tryons.services.reuse import render_key, renders_reused
from tryons.services.settlement import tryon_fail

logger = logging.getLogger(__name__)

# First attempts of the session's fresh items, taken in one statement. The conditions are those under which
# no other run can be rendering the item: not handed over yet (awaiting_callback), never attempted. A
# duplicate run racing this one finds the items claimed and takes none of them.
_CLAIM = """
UPDATE tryons_tryon
   SET attempts = 1, render_job_id = id || '.1', renderer = %s, awaiting_callback = TRUE, heartbeat_at = %s
 WHERE session_id = %s AND status = 'processing' AND NOT awaiting_callback AND attempts = 0 AND reruns = 0
RETURNING id
"""


def cart_items_hand_over(*, session_id: str, engine: str) -> int:
    """Hand the session's fresh items to `engine`; returns how many were claimed for it.

    Each claimed item ends this call handed over (its job recorded, submitted or waiting for a slot),
    failed and refunded (a garment that can never be used), or released to the in-order loop (a download
    worth retrying). Only on PostgreSQL (RETURNING, and threads that would only queue on SQLite)."""
    now = timezone.now()
    TryOn.objects.filter(session_id=session_id, status=TryOn.Status.QUEUED).update(
        status=TryOn.Status.PROCESSING, started_at=now, heartbeat_at=now
    )
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [engine, now, session_id])
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return 0
    items = list(TryOn.objects.filter(pk__in=ids).order_by("sample", "position"))
    started = time.monotonic()
    with tracing.span("tryon.render", engine=engine, items=len(items)):
        # Each distinct garment downloaded once (an item's samples, a product in two variants), then copied
        # per item: a job's copy is deleted with the job.
        urls = list(dict.fromkeys(tryon.image_url for tryon in items))
        # The catalogue's copies where it holds them (one query), the rest downloaded.
        downloaded, due = catalogue_copies(organization_id=items[0].organization_id, urls=urls)
        downloaded.update(catalogue_revalidated(due))
        missing = [url for url in urls if url not in downloaded]
        downloaded.update(zip(missing, fan_out(_download_garment, missing), strict=True))
        fetched = fan_out(lambda tryon: _store_garment(tryon, downloaded[tryon.image_url]), items)
        reused = _reused(items, fetched, engine=engine)
        jobs, known = [], {}
        for tryon, got in zip(items, fetched, strict=True):
            if tryon.pk in reused:  # an identical render was done before: handed out, no engine call
                storage_delete(got[0])  # the garment copy the provider will not read
                _observed(engine, "reused", started)
                continue
            if isinstance(got, PermanentRenderError):
                tryon_fail(tryon=tryon, code=got.code, message=str(got))
                _observed(engine, "failed", started)
            elif isinstance(got, Exception):
                logger.info(
                    "try-on %s: garment not ready for the engine, retrying in order: %s", tryon.id, got
                )
                # Released: the in-order loop renders it as its next attempt (this one is counted).
                TryOn.objects.filter(pk=tryon.id, render_job_id=tryon.render_job_id).update(
                    awaiting_callback=False
                )
            else:
                key, image = got
                jobs.append(
                    engine_job_record(
                        tryon_id=tryon.id, job_id=tryon.render_job_id, engine=engine, garment_key=key
                    )
                )
                known[key] = image
                _observed(engine, "accepted", started)
        EngineJob.objects.bulk_create(jobs, ignore_conflicts=True)
        after = Aftermath()
        engine_jobs_submit([job.id for job in jobs], after=after, known=known)
        after.run()
    return len(items)


def _reused(items: list[TryOn], fetched: list, *, engine: str) -> set[str]:
    """The items handed an identical earlier render instead (tryons.services.reuse), their keys recorded
    in one statement; the person photo is read once per photo (a cart has one)."""
    digests: dict[str, str | None] = {}
    pairs = []
    for tryon, got in zip(items, fetched, strict=True):
        if isinstance(got, Exception) or not tryon.photo_key:
            continue
        if tryon.photo_key not in digests:
            try:
                digests[tryon.photo_key] = image_digest(storage_read(tryon.photo_key))
            except OSError:  # gone or unreadable: its render finds out and says so
                digests[tryon.photo_key] = None
        if digests[tryon.photo_key] is not None:
            key = render_key(tryon, person=digests[tryon.photo_key], garment=got[1], renderer=engine)
            pairs.append((tryon, key))
    return renders_reused(pairs)


def _download_garment(url: str) -> bytes | Exception:
    """On a fan-out thread: the partner's garment downloaded and checked."""
    try:
        return garment_image_download(url)
    except (RetryableRenderError, PermanentRenderError) as exc:
        return exc


def _store_garment(tryon: TryOn, image: bytes | Exception) -> tuple[str, bytes] | Exception:
    """On a fan-out thread: the item's own copy of its downloaded garment, in our storage."""
    if isinstance(image, Exception):
        return image
    try:
        return engine_garment_store(tryon.organization_id, tryon.id, image), image
    except OSError as exc:  # storage of the garment copy
        return RetryableRenderError(f"Could not store the garment copy: {type(exc).__name__}")


def _observed(engine: str, outcome: str, started: float) -> None:
    metrics.render_observed(engine=engine, outcome=outcome, seconds=time.monotonic() - started)
