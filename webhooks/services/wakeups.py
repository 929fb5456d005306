"""Waking an endpoint: queueing the task that sends whatever is due to it.

The task (webhooks.tasks) calls these services, so they reach it by its name in the Celery app's task
registry (WebhooksConfig.ready imports the tasks module), never by importing it back.
"""

import logging

from django.core.cache import cache

from config.celery import app as celery_app
from infrastructure.shared_cache import shared_cache_backend

logger = logging.getLogger("garmax.webhooks")

DELIVER_ENDPOINT_TASK = "webhooks.deliver_endpoint"
# An immediate wake-up is skipped while another is queued; this bounds how long a lost one can suppress them.
WAKE_MARKER_SECONDS = 60


def wake_marker_key(webhook_id: str) -> str:
    return f"webhooks:wake:{webhook_id}"


def deliver_endpoint_queue(webhook_id: str, **options) -> None:
    """Queue the endpoint's sending task (`apply_async` options); raises what the broker raises."""
    celery_app.tasks[DELIVER_ENDPOINT_TASK].apply_async((webhook_id,), **options)


def webhook_endpoints_wake(*, webhook_ids: list[str], countdown: float = 0, coalesce: bool = True) -> int:
    """Queue a task that sends whatever is due to each endpoint; returns how many were queued.

    Never raises: if the broker is down the deliveries stay pending and the sweeper queues them later.
    An immediate wake-up is skipped while the endpoint's wake-up marker is set in the shared cache: a
    sending task clears it before it looks for due deliveries, so a delivery committed while it is set is
    found by a later look (see `webhook_deliveries_send_due`). A thousand events for one endpoint thus
    cost a handful of tasks, not a thousand. A `countdown` wake-up (a retry) is always queued: the marker
    says nothing about when the queued task will run relative to the retry's due time; so is one with
    `coalesce=False` (the sweeper: a lost task may have left its marker behind). Without a shared cache
    (embedded mode: each process has its own) every wake-up is queued.
    """
    queued = 0
    for webhook_id in webhook_ids:
        marked = coalesce and not countdown and shared_cache_backend() is not None
        if marked and not cache.add(wake_marker_key(webhook_id), 1, WAKE_MARKER_SECONDS):
            continue
        try:
            deliver_endpoint_queue(
                webhook_id,
                countdown=countdown or None,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
            )
            queued += 1
        except Exception as exc:
            # Broker down: the rows are committed, so the sweeper will queue them once it is back.
            if marked:
                cache.delete(wake_marker_key(webhook_id))
            logger.warning("Could not queue webhook deliveries for %s: %s", webhook_id, type(exc).__name__)
    return queued
