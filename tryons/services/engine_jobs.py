"""Hosted engine jobs: submit under the engine's cap, poll on countdown tasks, settle the item exactly once.

A job's whole state is its EngineJob row; every step loads it by id, so any worker can take any step and a
redelivered or duplicated task finds the row already moved on and does nothing. Steps:
- submit  WAITING → SUBMITTED when the engine has a free slot (the engine's circuit row is locked while the
          jobs in flight are counted, so the cap holds across workers); 429/5xx put it back to WAITING with
          backoff. No slot: it waits, and the job that frees one hands it on (`_kick`).
- poll    asks the provider; queued/running → poll again in TRYON_ENGINE_POLL_SECONDS; 429/5xx → back off;
          succeeded → download the result through the outbound guard (size-capped), store it, complete the
          item; failed, or older than TRYON_RENDER_TIMEOUT_SECONDS → fail the item and refund it
          (tryon_fail: exactly once, whoever else tries).
- finally our garment copy is deleted, and the provider's copy where its API allows (fal), on every end.
"""

import base64
import binascii
import io
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image

from config import outbound
from config.storage import storage_delete, storage_key, storage_read, storage_save, storage_signed_url
from tryons.engines import engine_client, engine_settings
from tryons.engines.base import EngineInputs, EngineRejected, EngineThrottled, EngineUnavailable
from tryons.engines.circuit import circuit_failure, circuit_success
from tryons.models import EngineCircuit, EngineJob, TryOn
from tryons.renderers import PermanentRenderError, RenderRequest, RenderResult, RetryableRenderError
from tryons.services import queue
from tryons.services.garments import garment_image_check
from tryons.services.settlement import settlement_for, tryon_complete, tryon_fail

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
# A job whose next step is this late lost its task (a worker died holding it): the sweeper schedules it again.
LOST_STEP_SECONDS = 120


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _extension(data: bytes) -> str:
    return {"image/png": "png", "image/webp": "webp"}.get(_image_type(data), "jpg")


def engine_job_start(*, request: RenderRequest, engine: str) -> EngineJob:
    """Record a render attempt on `engine` and submit it if a slot is free (else it waits for one)."""
    s = engine_settings()
    garment_key = storage_key(
        organization_id=request.organization_id,
        kind="garments",
        object_id=request.tryon_id,
        extension=_extension(request.garment_image),
    )
    storage_save(garment_key, request.garment_image)
    model = {"fashn": s.fashn_model, "fal": s.fal_model, "replicate": s.replicate_model}[engine]
    job = EngineJob(
        id=request.job_id, tryon_id=request.tryon_id, engine=engine, model=model, garment_key=garment_key
    )
    # One statement; a redelivered attempt that already recorded this job id keeps the row it has.
    EngineJob.objects.bulk_create([job], ignore_conflicts=True)
    engine_job_submit(job_id=job.id)
    return job


def _schedule(task: str, job_id: str, delay: float, **fields) -> None:
    """Run `task` for the job in `delay` seconds; `fields` are saved in the same UPDATE."""
    when = timezone.now() + timedelta(seconds=delay)
    EngineJob.objects.filter(pk=job_id).update(next_step_at=when, **fields)
    transaction.on_commit(lambda: queue.enqueue_later(task, job_id, countdown=delay))


def _backoff(job: EngineJob, exc: Exception) -> float:
    """Exponential from the poll interval, capped, with jitter so throttled jobs do not return in step."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return min(float(retry_after), MAX_BACKOFF_SECONDS) + random.uniform(0, 0.5)
    base = engine_settings().poll_seconds * (2 ** min(job.backoffs, 5))
    return min(base, MAX_BACKOFF_SECONDS) * random.uniform(0.8, 1.2)


def _lock_circuit(engine: str) -> None:
    """Lock the engine's circuit row (creating it the first time) until the transaction ends."""
    if EngineCircuit.objects.select_for_update().filter(engine=engine).values_list("pk").first() is None:
        # ON CONFLICT DO NOTHING: a concurrent first insert is waited for, never duplicated.
        EngineCircuit.objects.bulk_create([EngineCircuit(engine=engine)], ignore_conflicts=True)
        EngineCircuit.objects.select_for_update().filter(engine=engine).values_list("pk").first()


def _admit(job: EngineJob) -> bool:
    """Take a slot under the engine's cap: WAITING → SUBMITTED, or False when the engine is full."""
    cap = engine_settings().max_in_flight
    with transaction.atomic():
        # The circuit row serialises admissions per engine: two workers cannot both take the last slot.
        _lock_circuit(job.engine)
        if EngineJob.objects.filter(engine=job.engine, state=EngineJob.State.SUBMITTED).count() >= cap:
            return False
        now = timezone.now()
        return bool(
            EngineJob.objects.filter(pk=job.id, state=EngineJob.State.WAITING).update(
                state=EngineJob.State.SUBMITTED, submitted_at=now, next_step_at=now
            )
        )


def _inputs(job: EngineJob, tryon: TryOn) -> EngineInputs:
    s = engine_settings()
    if not tryon.photo_key:
        raise PermanentRenderError("The customer photo was erased.", code="photo_unavailable")
    if s.inputs == "signed-url":
        # Valid as long as the provider may still read them, no longer.
        person = storage_signed_url(tryon.photo_key, ttl=s.render_timeout)
        garment = storage_signed_url(job.garment_key, ttl=s.render_timeout)
    else:
        try:
            person, garment = (_data_uri(storage_read(key)) for key in (tryon.photo_key, job.garment_key))
        except FileNotFoundError:
            raise PermanentRenderError(
                "The customer photo is no longer stored.", code="photo_unavailable"
            ) from None
        except OSError as exc:
            raise RetryableRenderError(f"Could not read the render inputs: {type(exc).__name__}") from None
    return EngineInputs(
        person=person, garment=garment, category=tryon.category, quality=tryon.render_quality, job_id=job.id
    )


def _data_uri(data: bytes) -> str:
    return f"data:{_image_type(data)};base64,{base64.b64encode(data).decode()}"


def _current(job: EngineJob) -> TryOn | None:
    """The job's item, if this job is still the item's current attempt and the item still renders."""
    return TryOn.objects.filter(pk=job.tryon_id, status=TryOn.Status.PROCESSING, render_job_id=job.id).first()


def _timed_out(job: EngineJob) -> bool:
    return timezone.now() - job.created_at > timedelta(seconds=engine_settings().render_timeout)


def engine_job_submit(*, job_id: str) -> None:
    job = EngineJob.objects.filter(pk=job_id, state=EngineJob.State.WAITING).first()
    if job is None:
        return
    tryon = _current(job)
    if tryon is None:
        _end(job, EngineJob.State.ABANDONED, error="The item no longer renders on this job.")
        return
    if _timed_out(job):
        _fail(job, tryon, state=EngineJob.State.TIMED_OUT, code="render_timed_out",
              message="No engine slot came free before the render timeout.")  # fmt: skip
        return
    if not _admit(job):
        # Full: the job that frees a slot hands it on (_kick); this is the fallback if that message is lost.
        _schedule("tryons.engine_job_submit", job.id, max(5.0, engine_settings().poll_seconds * 2.0))
        return
    engine = engine_client(job.engine)
    try:
        submission = engine.submit(_inputs(job, tryon))
    except RetryableRenderError as exc:  # throttled, unavailable, or our storage: give the slot back
        EngineJob.objects.filter(pk=job.id, state=EngineJob.State.SUBMITTED).update(
            state=EngineJob.State.WAITING, submitted_at=None, backoffs=F("backoffs") + 1, error=str(exc)[:500]
        )
        if isinstance(exc, EngineUnavailable):
            circuit_failure(job.engine)
        logger.info("engine job %s: submit deferred: %s", job.id, exc)
        _schedule("tryons.engine_job_submit", job.id, _backoff(job, exc))
        return
    except PermanentRenderError as exc:
        _fail(job, tryon, state=EngineJob.State.FAILED, code=exc.code, message=str(exc))
        return
    _schedule(
        "tryons.engine_job_poll",
        job.id,
        engine_settings().poll_seconds,
        provider_job_id=submission.provider_job_id[:200],
        provider_urls=submission.urls,
        backoffs=0,
        error="",
    )


# Due jobs of one engine polled side by side by whichever poll task runs first (on PostgreSQL), so a burst
# of finished renders is settled by one worker slot in the time of a few, not one after another.
POLL_THREADS = 8
POLL_BATCH = 50


def engine_jobs_poll_due(*, job_id: str) -> int:
    """The poll task: poll `job_id` and every other job of its engine whose poll is due; returns how many.

    Due jobs are claimed with SKIP LOCKED and pushed a poll interval ahead, so two workers never poll one
    job at once, and the countdown tasks of jobs polled here find them not due and return.
    """
    engine = EngineJob.objects.filter(pk=job_id).values_list("engine", flat=True).first()
    if engine is None:
        return 0
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            EngineJob.objects.select_for_update(skip_locked=True)
            .filter(engine=engine, state=EngineJob.State.SUBMITTED, next_step_at__lte=now)
            .exclude(provider_job_id="")
            .order_by("next_step_at")
            .values_list("id", flat=True)[:POLL_BATCH]
        )
        # Claimed for as long as one poll may take; each poll then sets its real next step.
        hold = now + timedelta(seconds=engine_settings().http_timeout * 2)
        EngineJob.objects.filter(pk__in=ids).update(next_step_at=hold)
    if len(ids) > 1 and connection.vendor == "postgresql":
        with ThreadPoolExecutor(max_workers=POLL_THREADS) as pool:
            list(pool.map(_poll_in_thread, ids))
    else:  # one job, or SQLite (one writer at a time: threads would only queue)
        for due in ids:
            engine_job_poll(job_id=due)
    return len(ids)


def _poll_in_thread(job_id: str) -> None:
    try:
        engine_job_poll(job_id=job_id)
    except Exception:  # one job's surprise must not stop the others; its next sweep or task retries it
        logger.exception("engine job %s: poll failed", job_id)
        EngineJob.objects.filter(pk=job_id, state=EngineJob.State.SUBMITTED).update(
            next_step_at=timezone.now()
        )
    finally:
        connection.close()  # this thread's own connection


def engine_job_poll(*, job_id: str) -> None:
    job = EngineJob.objects.filter(pk=job_id, state=EngineJob.State.SUBMITTED).first()
    if job is None or not job.provider_job_id:
        return
    tryon = _current(job)
    if tryon is None:
        _cancel_at_provider(job)
        _end(job, EngineJob.State.ABANDONED, error="The item no longer renders on this job.")
        return
    if _timed_out(job):
        _cancel_at_provider(job)
        _fail(job, tryon, state=EngineJob.State.TIMED_OUT, code="render_timed_out",
              message="The engine did not finish the render in time.")  # fmt: skip
        return
    engine = engine_client(job.engine)
    try:
        status = engine.status(job.provider_job_id, job.provider_urls)
        result = engine_result_fetch(status.output) if status.state == "succeeded" else None
    except (EngineThrottled, EngineUnavailable) as exc:
        EngineJob.objects.filter(pk=job.id).update(backoffs=F("backoffs") + 1, polls=F("polls") + 1)
        logger.info("engine job %s: poll deferred: %s", job.id, exc)
        _schedule("tryons.engine_job_poll", job.id, _backoff(job, exc))
        return
    except PermanentRenderError as exc:
        _fail(job, tryon, state=EngineJob.State.FAILED, code=exc.code, message=str(exc))
        return
    now = timezone.now()
    if status.state in ("queued", "running"):
        started = now if status.state == "running" and job.started_at is None else job.started_at
        EngineJob.objects.filter(pk=job.id).update(
            polls=F("polls") + 1, backoffs=0, provider_status=status.raw[:40], started_at=started
        )
        _schedule("tryons.engine_job_poll", job.id, engine_settings().poll_seconds)
        return
    if status.state == "failed":
        _fail(job, tryon, state=EngineJob.State.FAILED, code="render_failed",
              message=f"The {job.engine} engine failed: {status.error or status.raw}")  # fmt: skip
        return
    elapsed = int((now - job.submitted_at).total_seconds() * 1000) if job.submitted_at else None
    completed = tryon_complete(tryon=tryon, result=result, elapsed_ms=elapsed)
    started = job.started_at or now
    queue_ms = int((started - job.submitted_at).total_seconds() * 1000) if job.submitted_at else None
    render_ms = (
        status.render_ms if status.render_ms is not None else int((now - started).total_seconds() * 1000)
    )
    _end(
        job,
        EngineJob.State.SUCCEEDED if completed else EngineJob.State.ABANDONED,
        provider_status=status.raw[:40],
        queue_ms=queue_ms,
        render_ms=render_ms,
        cost=status.cost,
        cost_unit=status.cost_unit,
    )
    circuit_success(job.engine)
    settlement_for(tryon).after()


def engine_result_fetch(output: str) -> RenderResult:
    """The provider's output as our result: a data URI decoded, or a URL downloaded through the guard."""
    cap = engine_settings().result_max_bytes
    if output.startswith("data:"):
        header, _, payload = output.partition(",")
        if ";base64" not in header or len(payload) > cap * 4 // 3 + 4:
            raise EngineRejected("The engine's result is not a base64 image within the size limit.")
        try:
            image = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise EngineRejected("The engine's result is not valid base64.") from None
    else:
        try:
            image, _ = outbound.fetch_bytes(output, max_bytes=cap, timeout=engine_settings().http_timeout)
        except (outbound.OutboundBlocked, outbound.OutboundRejected) as exc:
            raise EngineRejected(f"Result download refused: {exc}") from None
        except outbound.OutboundFailed as exc:
            raise EngineUnavailable(f"Result download failed: {exc}") from None
    try:
        garment_image_check(image)  # the same decoder allow-list as garments: JPEG, PNG, WebP
    except PermanentRenderError:
        raise EngineRejected("The engine's result is not a usable image.", code="render_invalid") from None
    if _image_type(image) == "image/webp":  # results are served as JPEG or PNG
        out = io.BytesIO()
        Image.open(io.BytesIO(image)).save(out, "PNG")
        image = out.getvalue()
    return RenderResult(
        image=image, content_type="image/png" if image.startswith(b"\x89PNG") else "image/jpeg"
    )


def _fail(job: EngineJob, tryon: TryOn, *, state: str, code: str, message: str) -> None:
    """End the job and fail (and refund) its item; the provider-side failures count against the circuit."""
    if not _end(job, state, error=message):
        return
    tryon_fail(tryon=tryon, code=code, message=message)
    if state in (EngineJob.State.FAILED, EngineJob.State.TIMED_OUT) and code != "photo_unavailable":
        circuit_failure(job.engine)
    settlement_for(tryon).after()


def _end(job: EngineJob, state: str, **fields) -> bool:
    """Move an open job to its end state (once), free its slot for a waiting job, and clean up after it."""
    ended = EngineJob.objects.filter(pk=job.id, state__in=EngineJob.OPEN).update(
        state=state, finished_at=timezone.now(), next_step_at=None, **fields
    )
    if not ended:
        return False
    _kick(job.engine)
    try:
        if job.garment_key:
            storage_delete(job.garment_key)
    except Exception:  # storage backends fail with many types; the copy is only left behind
        logger.warning("engine job %s: could not delete the garment copy", job.id, exc_info=True)
    if job.provider_job_id:
        try:
            engine_client(job.engine).cleanup(job.provider_job_id, job.provider_urls)
        except Exception as exc:  # best effort: the provider's own retention still applies
            logger.warning("engine job %s: provider clean-up failed: %s", job.id, exc)
    return True


def _cancel_at_provider(job: EngineJob) -> None:
    try:
        engine_client(job.engine).cancel(job.provider_job_id, job.provider_urls)
    except Exception as exc:  # best effort: the job is over for us either way
        logger.info("engine job %s: cancel failed: %s", job.id, exc)


def _kick(engine: str) -> None:
    """Slots came free: hand each to a different waiting job (oldest first, not one backing off).

    A job handed a slot is marked (its next step set to now), so the next job to end, before that submit has
    run, hands its own slot to the next waiting job instead of the same one.
    """
    now = timezone.now()
    waiting = (
        EngineJob.objects.filter(engine=engine, state=EngineJob.State.WAITING, backoffs=0)
        .filter(Q(next_step_at__isnull=True) | Q(next_step_at__gt=now))
        .order_by("created_at")
    )
    if not waiting.exists():  # the usual case: nobody is waiting for a slot
        return
    free = (
        engine_settings().max_in_flight
        - EngineJob.objects.filter(engine=engine, state=EngineJob.State.SUBMITTED).count()
    )
    for job_id, seen in waiting.values_list("id", "next_step_at")[: max(free, 0)]:
        # Conditional on the mark seen: of two jobs ending at once, each hands its slot to a different job.
        if EngineJob.objects.filter(pk=job_id, next_step_at=seen).update(next_step_at=now):
            transaction.on_commit(
                lambda job_id=job_id: queue.enqueue_later("tryons.engine_job_submit", job_id, countdown=0)
            )


def engine_jobs_sweep(*, now=None) -> int:
    """Schedule again the open jobs whose next step is long overdue (their task died with a worker)."""
    now = now or timezone.now()
    late = EngineJob.objects.filter(
        state__in=EngineJob.OPEN, next_step_at__lt=now - timedelta(seconds=LOST_STEP_SECONDS)
    ).values_list("id", "state")[:200]
    for job_id, state in late:
        # Admitted but never acknowledged by the provider (the worker died mid-submit): whether the provider
        # got it cannot be known, so it is submitted again rather than left holding a slot for ever.
        EngineJob.objects.filter(pk=job_id, state=EngineJob.State.SUBMITTED, provider_job_id="").update(
            state=EngineJob.State.WAITING, submitted_at=None
        )
        state = EngineJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        task = "tryons.engine_job_poll" if state == EngineJob.State.SUBMITTED else "tryons.engine_job_submit"
        _schedule(task, job_id, 0)
    return len(late)
