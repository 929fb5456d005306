"""Rendering: a session's items in order, or one single try-on, each under its run's lease."""

import logging
import time

from django.db import connection
from django.utils import timezone

from infrastructure.observability import metrics, tracing
from infrastructure.storage import storage_exists, storage_read
from tryons.catalogue.services import garment_image_for
from tryons.controls import (
    RESULT_EXTENSIONS,
    ResultUnusable,
    extension_format,
    render_controls,
    result_encode,
)
from tryons.engines import ENGINES
from tryons.engines.selection import renderer_for
from tryons.heartbeats import Heartbeat
from tryons.models import CartTryOnSession, TryOn
from tryons.renderers import get_renderer
from tryons.renderers.base import (
    HostedJob,
    PermanentRenderError,
    RenderAccepted,
    RenderRequest,
    RetryableRenderError,
)
from tryons.reuse import image_digest
from tryons.services.engine_handover import cart_items_hand_over
from tryons.services.engine_jobs import engine_job_place
from tryons.services.leases import lease_claim, lease_claim_redelivered, unsettled
from tryons.services.looks import looks_start
from tryons.services.reuse import render_key, render_reused
from tryons.services.settlement import (
    result_key,
    session_finish,
    session_progress,
    tryon_complete,
    tryon_fail,
)

logger = logging.getLogger(__name__)


# Attempts per item (download + render) before it fails; counted on the row across redeliveries, so an
# item that keeps killing its worker also ends.
RENDER_MAX_ATTEMPTS = 3
RENDER_BACKOFF_SECONDS = (2.0, 6.0)


def cart_session_process(*, session_id: str, redelivered: bool = False) -> None:
    """Render a session's items in order, then settle it. Safe to run again for the same session.

    A re-queued run skips finished items, resumes an interrupted one, and stops at the first item a
    cancellation took away. The end state and its webhook event are recorded once (`session_finish`).
    The run holds the session's lease (tryons.heartbeats) and keeps it alive by heartbeats; a run that finds
    the session owned by a live run (a duplicate or late redelivery) returns at once, and a run that finds
    its lease handed to another run stops before its next item, so two runs never render one session.
    A run the broker `redelivered` (its worker died) takes over as soon as the dead run misses a heartbeat
    (`lease_claim_redelivered`), not after the sweeper's timeout.
    """
    lease = _claim(CartTryOnSession.objects.filter(unsettled(), pk=session_id), redelivered=redelivered)
    if not lease:
        return
    # Every item's first sample before any further one: the shopper sees the whole cart first.
    item_ids = list(
        TryOn.objects.filter(session_id=session_id)
        .order_by("sample", "position")
        .values_list("id", flat=True)
    )
    with Heartbeat(CartTryOnSession, session_id, lease) as heartbeat:
        looks_start(session_id=session_id)  # looks on the customer's photo render beside the items
        engine = _hosted_engine(session_id)
        if engine:
            cart_items_hand_over(session_id=session_id, engine=engine)
            session_progress(session_id=session_id)
            heartbeat.beat()
            # What the loop below still has to do: items the batch did not hand over.
            handed_over = set(
                TryOn.objects.filter(session_id=session_id, awaiting_callback=True).values_list(
                    "id", flat=True
                )
            )
            item_ids = [item_id for item_id in item_ids if item_id not in handed_over]
        for item_id in item_ids:
            if heartbeat.lost.is_set():
                return
            _tryon_render(tryon_id=item_id)
            session_progress(session_id=session_id)
            heartbeat.beat()
        if heartbeat.lost.is_set():
            return
        session_finish(session_id=session_id)
    heartbeat.release()


def _hosted_engine(session_id: str) -> str:
    """The hosted engine the session's items go to when it renders without us waiting (submit only), to be
    handed over in one batch; "" otherwise.

    Only on PostgreSQL: SQLite (the embedded mode) takes one writer at a time, so threads would only queue."""
    session = (
        CartTryOnSession.objects.filter(pk=session_id).values("render_quality", "organization_id").first()
    )
    if connection.vendor != "postgresql" or session is None:
        return ""
    name = renderer_for(TryOn(**session))
    return name if name in ENGINES else ""


def tryon_process(*, tryon_id: str, renderer=None, redelivered: bool = False) -> None:
    """Take one try-on from `queued` (or an interrupted `processing`) to its end state.

    A single try-on is processed under its own lease, as a cart session is (`cart_session_process`); a cart
    item belongs to its session's run.

    Download and render are retried with backoff on retryable errors, up to RENDER_MAX_ATTEMPTS counted on
    the row. An asynchronous renderer leaves the item `processing` until its callback arrives.
    """
    single = TryOn.objects.filter(
        pk=tryon_id, session__isnull=True, status__in=[TryOn.Status.QUEUED, TryOn.Status.PROCESSING]
    )
    lease = _claim(single, redelivered=redelivered)
    if lease:
        with Heartbeat(TryOn, tryon_id, lease) as heartbeat:
            _tryon_render(tryon_id=tryon_id, renderer=renderer)
        heartbeat.release()
    elif TryOn.objects.filter(pk=tryon_id, session__isnull=False).exists():
        _tryon_render(tryon_id=tryon_id, renderer=renderer)


def _claim(rows, *, redelivered: bool) -> str:
    return lease_claim_redelivered(rows) if redelivered else lease_claim(rows, now=timezone.now())


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
    renderer = renderer or get_renderer(renderer_for(tryon))
    hosted = renderer.name in ENGINES
    started = time.monotonic()

    def observed(outcome: str) -> None:
        metrics.render_observed(engine=renderer.name, outcome=outcome, seconds=time.monotonic() - started)

    while True:
        if tryon.attempts >= RENDER_MAX_ATTEMPTS:
            tryon_fail(tryon=tryon, code="render_gave_up", message="Rendering kept failing; gave up.")
            observed("failed")
            return
        tryon.attempts += 1
        # A staff re-run starts its attempts again: its number keeps the job ids (engine job keys) unique.
        job_id = (
            f"{tryon.id}.r{tryon.reruns}.{tryon.attempts}" if tryon.reruns else f"{tryon.id}.{tryon.attempts}"
        )
        # Recorded before the attempt: a crash mid-render still uses up one attempt. Conditional on the
        # attempt seen and on the item not being handed over: of two runs of one item (a duplicate delivery,
        # a run that took over a slow one's lease) only one takes each attempt. A hosted engine's item counts
        # as handed over from here on, so a second run arriving while this one submits it finds it taken,
        # instead of starting a second provider job for it under the engine's cap.
        claimed = TryOn.objects.filter(
            pk=tryon.id, status=TryOn.Status.PROCESSING, attempts=tryon.attempts - 1, awaiting_callback=False
        ).update(
            attempts=tryon.attempts,
            renderer=renderer.name,
            render_job_id=job_id,
            heartbeat_at=timezone.now(),
            awaiting_callback=hosted,
        )
        if not claimed:
            return  # another run took this attempt and renders the item
        try:
            # The engine's own span: one trace runs from the partner's POST through here to the webhook.
            with tracing.span("tryon.render", engine=renderer.name, attempt=tryon.attempts):
                request = _render_request(tryon, job_id=job_id)
                key = render_key(
                    tryon,
                    person=image_digest(request.person_image),
                    garment=request.garment_image,
                    renderer=renderer.name,
                )
                if render_reused(tryon, key):  # an identical render was done before: no engine call
                    observed("reused")
                    return
                outcome = renderer.render(request)
                if isinstance(outcome, HostedJob):
                    outcome = engine_job_place(outcome)
            break
        except RetryableRenderError as exc:
            if hosted:  # released for this run's next attempt
                TryOn.objects.filter(pk=tryon.id, render_job_id=job_id).update(awaiting_callback=False)
            if tryon.attempts >= RENDER_MAX_ATTEMPTS:
                tryon_fail(tryon=tryon, code=exc.code, message=str(exc))
                observed("failed")
                return
            logger.info("try-on %s attempt %s failed, retrying: %s", tryon.id, tryon.attempts, exc)
            time.sleep(RENDER_BACKOFF_SECONDS[min(tryon.attempts, len(RENDER_BACKOFF_SECONDS)) - 1])
        except PermanentRenderError as exc:
            tryon_fail(tryon=tryon, code=exc.code, message=str(exc))
            observed("failed")
            return
    if isinstance(outcome, RenderAccepted):
        observed("accepted")  # an asynchronous engine: its render time ends with the callback
        TryOn.objects.filter(
            pk=tryon.id, status=TryOn.Status.PROCESSING, render_job_id=outcome.job_id
        ).update(awaiting_callback=True)
        return
    tryon_complete(tryon=tryon, result=outcome, elapsed_ms=int((time.monotonic() - started) * 1000))
    observed("completed")


def _render_request(tryon: TryOn, *, job_id: str) -> RenderRequest:
    return RenderRequest(
        tryon_id=tryon.id,
        organization_id=tryon.organization_id,
        category=tryon.category,
        quality=tryon.render_quality,
        background_scene=tryon.background_scene,
        person_image=_person_image(tryon),
        person_photo_key=tryon.photo_key,
        garment_image=garment_image_for(organization_id=tryon.organization_id, url=tryon.image_url),
        garment_url=tryon.image_url,
        job_id=job_id,
        controls=render_controls(tryon),
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


def _adopt_stored_result(tryon: TryOn) -> bool:
    """A previous run stored the result and died before recording it: record it instead of re-rendering
    (as the reuse it was, when that run was copying an identical earlier render: services.reuse)."""
    for extension in RESULT_EXTENSIONS:
        key = result_key(tryon, extension)
        if storage_exists(key):
            try:
                info = result_encode(storage_read(key), extension_format(extension)).info()
            except (OSError, ResultUnusable):
                info = {}  # recorded without its figures rather than rendered and charged again
            tryon_complete(
                tryon=tryon,
                result=None,
                elapsed_ms=None,
                stored_key=key,
                stored_info=info,
                reused_from=tryon.reused_from,
            )
            return True
    return False
