"""Celery entry points: load by id, call a service. Task names are fixed (routing, beat schedule)."""

from celery import shared_task

from tryons.catalogue import services as catalogue
from tryons.services import engine_jobs, engine_polls, processing, sweeper


def _redelivered(task) -> bool:
    # The broker's own flag: RabbitMQ sets it on a message a dead consumer never acknowledged.
    return bool((task.request.delivery_info or {}).get("redelivered"))


@shared_task(bind=True, name="tryons.process_cart_session", acks_late=True, reject_on_worker_lost=True)
def process_cart_session(self, session_id: str) -> None:
    processing.cart_session_process(session_id=session_id, redelivered=_redelivered(self))


@shared_task(bind=True, name="tryons.process_tryon", acks_late=True, reject_on_worker_lost=True)
def process_tryon(self, tryon_id: str) -> None:
    processing.tryon_process(tryon_id=tryon_id, redelivered=_redelivered(self))


@shared_task(name="tryons.sweep_stuck_sessions", acks_late=True)
def sweep_stuck_sessions() -> dict:
    # Engine jobs whose next step died with a worker are found on the same beat.
    return {**sweeper.tryon_sweep_stuck(), "engineJobs": engine_jobs.engine_jobs_sweep()}


@shared_task(name="tryons.engine_job_submit", acks_late=True, reject_on_worker_lost=True)
def engine_job_submit(job_id: str) -> None:
    engine_jobs.engine_job_submit(job_id=job_id)


@shared_task(name="tryons.engine_job_poll", acks_late=True, reject_on_worker_lost=True)
def engine_job_poll(job_id: str) -> None:
    engine_polls.engine_jobs_poll_due(job_id=job_id)


@shared_task(name="tryons.fetch_garment", acks_late=True, reject_on_worker_lost=True)
def fetch_garment(job: str) -> str:
    return catalogue.garment_fetch(job=job)
