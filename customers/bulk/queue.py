"""Handing an import or export job to the bulk queue, by its task's registered name.

customers.tasks calls the imports and exports, so they reach its tasks by name in the Celery app's task
registry (CustomersConfig.ready imports customers.tasks, so every process has them), never by importing
it back.
"""

import logging

from config.celery import app as celery_app

logger = logging.getLogger("garmax.customers")

IMPORT_TASK = "bulk.import_customers"
EXPORT_TASK = "bulk.export_customers"
_KINDS = {IMPORT_TASK: "import", EXPORT_TASK: "export"}


def bulk_job_enqueue(task_name: str, job_id: str) -> None:
    """Queue the job's task; never raises."""
    try:
        celery_app.tasks[task_name].delay(job_id)
    except Exception as exc:  # broker down: the job stays queued and the sweeper queues it again
        logger.warning("Could not queue %s %s: %s", _KINDS[task_name], job_id, type(exc).__name__)
