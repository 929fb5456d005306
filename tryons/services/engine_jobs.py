"""Hosted engine jobs: submit under the engine's cap, poll on countdown tasks, settle the item exactly once.

A job's whole state is its EngineJob row; every step loads it by id, so any worker can take any step and a
redelivered or duplicated task finds the row already moved on and does nothing. Steps work on batches (one
job, a cart's items, or every due job of an engine): rows are read and written on the task's own thread in
a few statements per batch, and only the provider calls fan out to threads (`engine_io.fan_out`).
- submit  WAITING → SUBMITTED when the engine has a free slot (the engine's circuit row is locked while the
          jobs in flight are counted, so the cap holds across workers, and the conditional UPDATE from
          WAITING admits a job once however many submit tasks carry it); 429/5xx put it back to WAITING
          with backoff. No slot: it waits, and the step that frees a slot submits the oldest waiting jobs
          right there (`_hand_slots_on`); a fallback task retries it if that never happens.
- poll    (engine_polls) asks the provider; queued/running → poll again in TRYON_ENGINE_POLL_SECONDS;
          429/5xx → back off; succeeded → download the result through the outbound guard (size-capped),
          store it, complete the item; failed, or older than TRYON_RENDER_TIMEOUT_SECONDS → fail the item
          and refund it (tryon_fail: exactly once, whoever else tries).
- finally our garment copy is deleted, and the provider's copy where its API allows (fal), on every end.
What a batch leaves to do once — sessions' progress and end, the circuit, freed slots — is collected in an
`Aftermath` and done after the batch, not per job.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from infrastructure.storage import storage_key, storage_save
from tryons.engines import engine_client, engine_settings
from tryons.engines.base import EngineUnavailable, Submission
from tryons.engines.circuit import circuit_failure, circuit_open, circuit_success
from tryons.images import image_extension
from tryons.models import EngineCircuit, EngineJob, TryOn
from tryons.renderers.base import (
    HostedJob,
    PermanentRenderError,
    RenderAccepted,
    RenderRequest,
    RetryableRenderError,
)
from tryons.services import queue
from tryons.services.engine_io import (
    InputImages,
    engine_inputs,
    fan_out,
    job_cleanup,
)
from tryons.services.settlement import (
    session_finish,
    session_progress,
    tryon_fail,
)

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
# A job whose next step is this late lost its task (a worker died holding it): the sweeper schedules it again.
LOST_STEP_SECONDS = 120


@dataclass
class Aftermath:
    """What a batch of job steps leaves to do once, after the batch: hand freed slots to waiting jobs,
    close the circuits of engines that delivered, update the progress (maybe the end) of touched sessions."""

    freed: set[str] = field(default_factory=set)
    delivered: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)

    def hand_on(self) -> None:
        while self.freed:
            _hand_slots_on(self.freed.pop(), after=self)

    def run(self) -> None:
        # Freed slots first: the next renders start before this batch's bookkeeping.
        self.hand_on()
        for engine in sorted(self.delivered):
            circuit_success(engine)
        for session_id in sorted(self.sessions):
            session_progress(session_id=session_id)
            session_finish(session_id=session_id)
        self.delivered.clear()
        self.sessions.clear()


def engine_job_place(job: HostedJob) -> RenderAccepted:
    """Start what a hosted engine's renderer handed back: the attempt is recorded as an EngineJob and
    submitted if the engine has a free slot (else it waits for one); its result comes back by polling."""
    try:
        engine_job_start(request=job.request, engine=job.engine)
    except OSError as exc:  # storage of the garment copy
        raise RetryableRenderError(f"Could not store the garment copy: {type(exc).__name__}") from None
    return RenderAccepted(job_id=job.request.job_id)


def engine_job_start(*, request: RenderRequest, engine: str) -> EngineJob:
    """Record a render attempt on `engine` and submit it if a slot is free (else it waits for one)."""
    garment_key = engine_garment_store(request.organization_id, request.tryon_id, request.garment_image)
    job = engine_job_record(
        tryon_id=request.tryon_id, job_id=request.job_id, engine=engine, garment_key=garment_key
    )
    EngineJob.objects.bulk_create([job], ignore_conflicts=True)
    after = Aftermath()
    engine_jobs_submit([job.id], after=after, known={garment_key: request.garment_image})
    after.run()
    return job


def engine_garment_store(organization_id: str, tryon_id: str, image: bytes) -> str:
    """Our copy of the garment, which the provider reads instead of the partner's URL; returns its key."""
    key = storage_key(
        organization_id=organization_id, kind="garments", object_id=tryon_id, extension=image_extension(image)
    )
    storage_save(key, image)
    return key


def engine_job_record(*, tryon_id: str, job_id: str, engine: str, garment_key: str) -> EngineJob:
    """An unsaved job row, to insert with ON CONFLICT DO NOTHING: a redelivered attempt keeps its row."""
    model = engine_settings().model(engine)
    return EngineJob(id=job_id, tryon_id=tryon_id, engine=engine, model=model, garment_key=garment_key)


def schedule_step(task: str, job_ids: list[str], delay: float, *, state: str, **fields) -> None:
    """Run `task` in `delay` seconds for jobs still in `state`; `fields` are saved in the same UPDATE.

    One task for the batch, carrying its first id: a poll task polls every due job of that job's engine, and
    a submit task hands every free slot of it to the waiting jobs. Conditional on the state, so a late
    duplicate step never moves the next step of a job that moved on."""
    when = timezone.now() + timedelta(seconds=delay)
    if EngineJob.objects.filter(pk__in=job_ids, state=state).update(next_step_at=when, **fields):
        first = job_ids[0]
        transaction.on_commit(lambda: queue.enqueue_later(task, first, countdown=delay))


def backoff_seconds(job: EngineJob, exc: Exception) -> float:
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


def _admit(engine: str, candidates) -> list[str]:
    """Take slots under the engine's cap for the oldest of `candidates` (a query of jobs): WAITING →
    SUBMITTED. Returns the ids admitted, none when the engine is full.

    The circuit row serialises admissions per engine, so two workers cannot both take the last slot; the
    candidates are locked and re-checked as WAITING under it, so a job is admitted once, however many
    submit tasks (a redelivery, a fallback and a hand-on) carry it at the same moment."""
    cap = engine_settings().max_in_flight
    with transaction.atomic():
        _lock_circuit(engine)
        free = cap - EngineJob.objects.filter(engine=engine, state=EngineJob.State.SUBMITTED).count()
        if free <= 0:
            return []
        ids = list(
            candidates.filter(engine=engine, state=EngineJob.State.WAITING)
            .select_for_update(skip_locked=True)
            .order_by("created_at")
            .values_list("id", flat=True)[:free]
        )
        now = timezone.now()
        EngineJob.objects.filter(pk__in=ids).update(
            state=EngineJob.State.SUBMITTED, submitted_at=now, next_step_at=now
        )
    return ids


def timed_out(job: EngineJob) -> bool:
    return timezone.now() - job.created_at > timedelta(seconds=engine_settings().render_timeout)


NO_SLOT_IN_TIME = "No engine slot came free before the render timeout."


def jobs_still_rendering(
    pairs, *, after: Aftermath, timeout_message: str, on_drop=None
) -> list[tuple[EngineJob, TryOn]]:
    """The (job, item) pairs worth going on with: a job whose item no longer renders on it is abandoned, one
    past the render timeout fails its item (refunded once, by job_fail). `on_drop(job)` runs before either
    (e.g. cancelling the render at the provider)."""
    live = []
    for job, tryon in pairs:
        if tryon is not None and not timed_out(job):
            live.append((job, tryon))
            continue
        if on_drop is not None:
            on_drop(job)
        if tryon is None:
            job_end(
                job, EngineJob.State.ABANDONED, after=after, error="The item no longer renders on this job."
            )
        else:
            job_fail(
                job,
                tryon,
                after=after,
                state=EngineJob.State.TIMED_OUT,
                code="render_timed_out",
                message=timeout_message,
            )
    return live


def jobs_with_items(job_ids, state: str) -> list[tuple[EngineJob, TryOn | None]]:
    """The jobs still in `state`, each with its item if this job is still the item's current attempt and
    the item still renders (else None): two statements for the batch."""
    jobs = list(EngineJob.objects.filter(pk__in=job_ids, state=state).order_by("created_at"))
    items = TryOn.objects.filter(pk__in=[j.tryon_id for j in jobs], status=TryOn.Status.PROCESSING)
    current = {t.render_job_id: t for t in items}
    return [(job, current.get(job.id)) for job in jobs]


def engine_job_submit(*, job_id: str) -> None:
    """The submit task (the fallback and the back-off retry): submit the job if it still waits, and hand
    any other free slot of its engine to the jobs waiting with it."""
    after = Aftermath()
    engine_jobs_submit([job_id], after=after)
    engine = EngineJob.objects.filter(pk=job_id).values_list("engine", flat=True).first()
    if engine:
        after.freed.add(engine)
    after.run()


def engine_jobs_submit(job_ids: list[str], *, after: Aftermath, known: dict | None = None) -> None:
    """Submit the waiting jobs among `job_ids` that get a slot; the others wait for one."""
    live = jobs_still_rendering(
        jobs_with_items(job_ids, EngineJob.State.WAITING), after=after, timeout_message=NO_SLOT_IN_TIME
    )
    for engine in sorted({job.engine for job, _ in live}):
        ids = [job.id for job, _ in live if job.engine == engine]
        admitted = set(_admit(engine, EngineJob.objects.filter(pk__in=ids)))
        for job, _ in live:
            if job.id in admitted:
                job.state = EngineJob.State.SUBMITTED  # its slot is freed if it ends from here on
        # Full: a step that frees a slot hands it on; this is the fallback if that never comes. A job another
        # submit admitted meanwhile is no longer WAITING and keeps the schedule it has.
        rest = [job_id for job_id in ids if job_id not in admitted]
        fallback = max(5.0, engine_settings().poll_seconds * 2.0)
        schedule_step("tryons.engine_job_submit", rest, fallback, state=EngineJob.State.WAITING)
        _send([(job, tryon) for job, tryon in live if job.id in admitted], after=after, known=known or {})


def _hand_slots_on(engine: str, *, after: Aftermath) -> None:
    """Slots came free: admit the oldest waiting jobs (not those backing off) and submit them now."""
    waiting = EngineJob.objects.filter(backoffs=0)
    if not waiting.filter(engine=engine, state=EngineJob.State.WAITING).exists():
        return  # the usual case: nobody is waiting for a slot
    admitted = _admit(engine, waiting)
    if not admitted:
        return
    live = jobs_still_rendering(
        jobs_with_items(admitted, EngineJob.State.SUBMITTED), after=after, timeout_message=NO_SLOT_IN_TIME
    )
    _send(live, after=after, known={})


@dataclass(frozen=True)
class _Sent:
    submission: Submission | None = None
    error: RetryableRenderError | PermanentRenderError | None = None
    inline_bytes: int = 0


# FASHN's troubleshooting guide names oversized base64 payloads as a cause of its 500s: a 5xx to a request
# carrying more than this inline may be the payload's fault, so it is retried without counting against the
# engine's circuit (one large item must not open it for everyone).
LARGE_SUBMISSION_BYTES = 1024 * 1024


def _send(jobs: list[tuple[EngineJob, TryOn]], *, after: Aftermath, known: dict) -> None:
    """Hand admitted jobs to the provider side by side, then record what it answered (one UPDATE for all
    accepted jobs). `known`: images already in memory, by storage key."""
    images = InputImages(known)

    def send(pair) -> _Sent:
        job, tryon = pair
        inputs = None
        try:
            inputs = engine_inputs(job, tryon, images)
            return _Sent(submission=engine_client(job.engine).submit(inputs))
        except (RetryableRenderError, PermanentRenderError) as exc:
            return _Sent(error=exc, inline_bytes=inputs.inline_bytes if inputs else 0)

    accepted = []
    for (job, tryon), sent in zip(jobs, fan_out(send, jobs), strict=True):
        if sent.submission is not None:
            job.provider_job_id = sent.submission.provider_job_id[:200]
            job.provider_urls = sent.submission.urls
            accepted.append(job)
        elif isinstance(sent.error, RetryableRenderError):  # throttled, unavailable, or our storage
            _give_back(job, sent.error, large=sent.inline_bytes > LARGE_SUBMISSION_BYTES)
        else:
            if reason := getattr(sent.error, "circuit_reason", ""):  # no retry mends it: fallback from now
                circuit_open(job.engine, reason=reason)
            job_fail(
                job,
                tryon,
                after=after,
                state=EngineJob.State.FAILED,
                code=sent.error.code,
                message=str(sent.error),
            )
    if accepted:
        # The provider's ids first, in one statement; then one poll task for the whole batch.
        EngineJob.objects.bulk_update(accepted, ["provider_job_id", "provider_urls"])
        schedule_step(
            "tryons.engine_job_poll",
            [job.id for job in accepted],
            engine_settings().poll_seconds,
            state=EngineJob.State.SUBMITTED,
            backoffs=0,
            error="",
        )


def _give_back(job: EngineJob, exc: RetryableRenderError, *, large: bool) -> None:
    """A submit the provider could not take now: give the slot back and retry after a back-off. An outage
    counts against the circuit, unless it was a 5xx to a large request."""
    EngineJob.objects.filter(pk=job.id, state=EngineJob.State.SUBMITTED).update(
        state=EngineJob.State.WAITING, submitted_at=None, backoffs=F("backoffs") + 1, error=str(exc)[:500]
    )
    if isinstance(exc, EngineUnavailable) and not (large and (exc.status or 0) >= 500):
        circuit_failure(job.engine)
    logger.info("engine job %s: submit deferred: %s", job.id, exc)
    schedule_step(
        "tryons.engine_job_submit", [job.id], backoff_seconds(job, exc), state=EngineJob.State.WAITING
    )


def job_fail(job: EngineJob, tryon: TryOn, *, after: Aftermath, state: str, code: str, message: str) -> None:
    """End the job and fail (and refund) its item; the provider-side failures count against the circuit."""
    if not job_end(job, state, after=after, error=message):
        return
    tryon_fail(tryon=tryon, code=code, message=message)
    if state in (EngineJob.State.FAILED, EngineJob.State.TIMED_OUT) and code != "photo_unavailable":
        circuit_failure(job.engine)
    if tryon.session_id:
        after.sessions.add(tryon.session_id)


def job_end(job: EngineJob, state: str, *, after: Aftermath, cleaned: bool = False, **fields) -> bool:
    """Move an open job to its end state (once), free its slot for a waiting job, and clean up after it."""
    was_submitted = job.state == EngineJob.State.SUBMITTED
    ended = EngineJob.objects.filter(pk=job.id, state__in=EngineJob.OPEN).update(
        state=state, finished_at=timezone.now(), next_step_at=None, **fields
    )
    if not ended:
        return False
    if was_submitted:
        after.freed.add(job.engine)
    if not cleaned:
        job_cleanup(job)
    return True


def engine_jobs_sweep(*, now=None) -> int:
    """Schedule again the open jobs whose next step is long overdue (their task died with a worker)."""
    now = now or timezone.now()
    late = EngineJob.objects.filter(
        state__in=EngineJob.OPEN, next_step_at__lt=now - timedelta(seconds=LOST_STEP_SECONDS)
    ).values_list("id", "state")[:200]
    for job_id, _ in late:
        # Admitted but never acknowledged by the provider (the worker died mid-submit): whether the provider
        # got it cannot be known, so it is submitted again rather than left holding a slot for ever.
        EngineJob.objects.filter(pk=job_id, state=EngineJob.State.SUBMITTED, provider_job_id="").update(
            state=EngineJob.State.WAITING, submitted_at=None
        )
        state = EngineJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        task = "tryons.engine_job_poll" if state == EngineJob.State.SUBMITTED else "tryons.engine_job_submit"
        schedule_step(task, [job_id], 0, state=state)
    return len(late)
