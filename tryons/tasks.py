"""Celery entry points: load by id, call a service. Task names are fixed (routing, beat schedule)."""

from celery import shared_task

from tryons import services


@shared_task(name="tryons.process_cart_session", acks_late=True, reject_on_worker_lost=True)
def process_cart_session(session_id: str) -> None:
    services.cart_session_process(session_id=session_id)


@shared_task(name="tryons.process_tryon", acks_late=True, reject_on_worker_lost=True)
def process_tryon(tryon_id: str) -> None:
    services.tryon_process(tryon_id=tryon_id)


@shared_task(name="tryons.sweep_stuck_sessions", acks_late=True)
def sweep_stuck_sessions() -> dict:
    return services.tryon_sweep_stuck()
