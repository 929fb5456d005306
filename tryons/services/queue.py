"""Handing a session, single try-on or engine job to a worker (the one place that names the Celery tasks)."""


def _task(task_name: str):
    from tryons import tasks

    return {
        "tryons.process_cart_session": tasks.process_cart_session,
        "tryons.process_tryon": tasks.process_tryon,
        "tryons.engine_job_submit": tasks.engine_job_submit,
        "tryons.engine_job_poll": tasks.engine_job_poll,
    }[task_name]


def enqueue(task_name: str, object_id: str) -> None:
    _task(task_name).delay(object_id)


def enqueue_later(task_name: str, object_id: str, *, countdown: float) -> None:
    """Run the task in `countdown` seconds: how engine jobs wait without holding a worker."""
    _task(task_name).apply_async((object_id,), countdown=max(0.0, countdown))
