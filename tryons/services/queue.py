"""Handing a session or single try-on to a worker (the one place that names the Celery tasks)."""


def enqueue(task_name: str, object_id: str) -> None:
    from tryons import tasks

    {
        "tryons.process_cart_session": tasks.process_cart_session,
        "tryons.process_tryon": tasks.process_tryon,
    }[task_name].delay(object_id)
