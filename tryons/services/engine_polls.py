"""Polling hosted engine jobs: every due job of an engine in one batch, settled in a few statements.

The provider round trips (status, the result's download, storing it) run side by side on threads that do not
touch the database; the rows are read and written on the task's thread: the renders the provider delivered
are ended in one statement, their freed slots handed on at once (the next renders start before this batch's
bookkeeping), then their items completed in one statement.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from infrastructure.storage import storage_delete
from tryons.controls import ResultUnusable
from tryons.engines import engine_client, engine_settings
from tryons.engines.base import EngineThrottled, EngineUnavailable, ProviderStatus
from tryons.models import EngineJob, TryOn
from tryons.renderers.base import PermanentRenderError
from tryons.services.cart_completion import cart_items_complete
from tryons.services.engine_io import engine_result_fetch, fan_out, job_cancel_at_provider, job_cleanup
from tryons.services.engine_jobs import (
    Aftermath,
    backoff_seconds,
    job_fail,
    jobs_still_rendering,
    jobs_with_items,
    schedule_step,
)
from tryons.services.settlement import result_store, tryon_complete

logger = logging.getLogger(__name__)

# Due jobs of one engine polled by one poll task.
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
    engine_jobs_poll(ids)
    return len(ids)


def engine_job_poll(*, job_id: str) -> None:
    engine_jobs_poll([job_id])


@dataclass(frozen=True)
class _Polled:
    status: ProviderStatus | None = None
    stored_key: str = ""  # the result, already in our storage
    stored_info: dict | None = None  # its result_info
    deferred: Exception | None = None  # throttled, unavailable, our storage: poll again later
    rejected: PermanentRenderError | None = None


def _ask_provider(pair) -> _Polled:
    """One job's provider round trips, on a fan-out thread: status, and on success the result, stored."""
    job, tryon = pair
    engine = engine_client(job.engine)
    try:
        status = engine.status(job.provider_job_id, job.provider_urls)
        if status.state != "succeeded":
            return _Polled(status=status)
        result = engine_result_fetch(status.output)
        key, info = result_store(tryon, result.image, model=job.model)
    except (EngineThrottled, EngineUnavailable) as exc:
        return _Polled(deferred=exc)
    except PermanentRenderError as exc:
        return _Polled(rejected=exc)
    except ResultUnusable as exc:  # decoded, and not an image we can deliver
        return _Polled(rejected=PermanentRenderError(str(exc), code="render_invalid"))
    except OSError as exc:  # our storage; the provider keeps the result until we come back
        return _Polled(deferred=exc)
    job_cleanup(job)  # the provider's copy and our garment copy are not needed any more
    return _Polled(status=status, stored_key=key, stored_info=info)


def engine_jobs_poll(job_ids: list[str]) -> None:
    """Poll the submitted jobs among `job_ids` side by side and settle each that ended."""
    after = Aftermath()
    live = jobs_still_rendering(
        (pair for pair in jobs_with_items(job_ids, EngineJob.State.SUBMITTED) if pair[0].provider_job_id),
        after=after,
        timeout_message="The engine did not finish the render in time.",
        on_drop=job_cancel_at_provider,
    )
    pending: dict[tuple[str, bool], list[str]] = {}
    delivered: list[tuple[EngineJob, TryOn, _Polled]] = []
    for (job, tryon), polled in zip(live, fan_out(_ask_provider, live), strict=True):
        status = polled.status
        if polled.deferred is not None:
            EngineJob.objects.filter(pk=job.id).update(backoffs=F("backoffs") + 1, polls=F("polls") + 1)
            logger.info("engine job %s: poll deferred: %s", job.id, polled.deferred)
            schedule_step(
                "tryons.engine_job_poll",
                [job.id],
                backoff_seconds(job, polled.deferred),
                state=EngineJob.State.SUBMITTED,
            )
        elif polled.rejected is not None:
            job_fail(
                job,
                tryon,
                after=after,
                state=EngineJob.State.FAILED,
                code=polled.rejected.code,
                message=str(polled.rejected),
            )
        elif status.state in ("queued", "running"):
            first_run = status.state == "running" and job.started_at is None
            pending.setdefault((status.raw[:40], first_run), []).append(job.id)
        elif status.state == "failed":
            job_fail(
                job,
                tryon,
                after=after,
                state=EngineJob.State.FAILED,
                code="render_failed",
                message=f"The {job.engine} engine failed: {status.error or status.raw}",
            )
        else:
            delivered.append((job, tryon, polled))
    now = timezone.now()
    for (raw, first_run), ids in pending.items():  # one UPDATE per provider status word seen
        started = {"started_at": now} if first_run else {}
        schedule_step(
            "tryons.engine_job_poll",
            ids,
            engine_settings().poll_seconds,
            state=EngineJob.State.SUBMITTED,
            polls=F("polls") + 1,
            backoffs=0,
            provider_status=raw,
            **started,
        )
    _settle_delivered(delivered, after=after)
    after.run()


# Jobs the provider delivered, ended in one statement with each one's figures.
_END_DELIVERED = """
UPDATE tryons_enginejob AS j
   SET state = 'succeeded', finished_at = %s, next_step_at = NULL, provider_status = v.provider_status,
       queue_ms = v.queue_ms, render_ms = v.render_ms, cost = v.cost, cost_unit = v.cost_unit
  FROM (VALUES {rows}) AS v(id, provider_status, queue_ms, render_ms, cost, cost_unit)
 WHERE j.id = v.id AND j.state IN ('waiting', 'submitted')
RETURNING j.id
"""
_END_DELIVERED_ROW = "(%s, %s, CAST(%s AS integer), CAST(%s AS integer), CAST(%s AS numeric), %s)"


def _settle_delivered(delivered: list[tuple[EngineJob, TryOn, "_Polled"]], *, after: Aftermath) -> None:
    """Renders the provider delivered (results stored): end their jobs in one statement, hand the freed
    slots on at once, then complete the items (one statement for cart items). The next renders start before
    this batch's bookkeeping; a job ends once (conditional on its open state) and its item completes once."""
    if not delivered:
        return
    now = timezone.now()
    figures = {}
    for job, _, polled in delivered:
        status = polled.status
        started = job.started_at or now
        render_ms = status.render_ms
        if render_ms is None:
            render_ms = int((now - started).total_seconds() * 1000)
        queue_ms = int((started - job.submitted_at).total_seconds() * 1000) if job.submitted_at else None
        figures[job.id] = {
            "provider_status": status.raw[:40],
            "queue_ms": queue_ms,
            "render_ms": render_ms,
            "cost": status.cost,
            "cost_unit": status.cost_unit,
        }
    ended = _end_delivered(figures, now=now)
    engines = {job.engine for job, _, _ in delivered if job.id in ended}
    after.freed |= engines
    after.delivered |= engines
    after.hand_on()

    def elapsed(job: EngineJob) -> int | None:
        return int((now - job.submitted_at).total_seconds() * 1000) if job.submitted_at else None

    ours = [(job, tryon, polled) for job, tryon, polled in delivered if job.id in ended]
    completed = cart_items_complete(
        results=[
            (tryon, polled.stored_key, polled.stored_info, elapsed(job))
            for job, tryon, polled in ours
            if tryon.session_id
        ]
    )
    for job, tryon, polled in ours:
        if not tryon.session_id and tryon_complete(
            tryon=tryon,
            result=None,
            elapsed_ms=elapsed(job),
            stored_key=polled.stored_key,
            stored_info=polled.stored_info,
        ):
            completed.add(tryon.id)
        if tryon.session_id:
            after.sessions.add(tryon.session_id)
    # Delivered, but the item had ended another way meanwhile (cancelled, erased): the job was abandoned.
    EngineJob.objects.filter(pk__in=[job.id for job, tryon, _ in ours if tryon.id not in completed]).update(
        state=EngineJob.State.ABANDONED
    )
    for job, _, polled in delivered:
        if job.id not in ended:  # ended by another step meanwhile: this stored result is nobody's
            storage_delete(polled.stored_key)


def _end_delivered(figures: dict[str, dict], *, now) -> set[str]:
    """End the delivered jobs still open, each with its figures; returns the ids ended."""
    if connection.vendor != "postgresql":  # SQLite (embedded mode): one job at a time
        return {
            job_id
            for job_id, fields in figures.items()
            if EngineJob.objects.filter(pk=job_id, state__in=EngineJob.OPEN).update(
                state=EngineJob.State.SUCCEEDED, finished_at=now, next_step_at=None, **fields
            )
        }
    rows = ", ".join([_END_DELIVERED_ROW] * len(figures))
    params = [now]
    for job_id, f in figures.items():
        params += [job_id, f["provider_status"], f["queue_ms"], f["render_ms"], f["cost"], f["cost_unit"]]
    with connection.cursor() as cursor:
        cursor.execute(_END_DELIVERED.format(rows=rows), params)
        return {row[0] for row in cursor.fetchall()}
