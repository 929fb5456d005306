"""Handing a session, single try-on or engine job to a worker, by the task's registered name.

The pipeline names its tasks and Celery's registry finds them: tryons.tasks calls the pipeline, so the
pipeline does not import it back. TryonsConfig.ready() imports tryons.tasks, so every process (a web
process too, where autodiscovery does not run) has them registered.
"""

from config.celery import app


def enqueue(task_name: str, object_id: str) -> None:
    app.tasks[task_name].delay(object_id)


def enqueue_later(task_name: str, object_id: str, *, countdown: float) -> None:
    """Run the task in `countdown` seconds: how engine jobs wait without holding a worker."""
    app.tasks[task_name].apply_async((object_id,), countdown=max(0.0, countdown))
