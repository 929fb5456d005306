from celery import shared_task

from customers import services
from customers.bulk import exports, imports, queue


@shared_task(name="customers.retry_pending_erasures")
def retry_pending_erasures() -> int:
    """Beat task: delete stored objects whose erasure failed or was interrupted."""
    return services.pending_erasures_retry()


# "bulk.*" tasks run on their own queue (config/settings.py), so a 100,000-row import never waits in
# front of renders or webhook deliveries.
@shared_task(name=queue.IMPORT_TASK, acks_late=True, reject_on_worker_lost=True)
def import_customers(import_id: str) -> None:
    imports.customer_import_process(import_id=import_id)


@shared_task(name=queue.EXPORT_TASK, acks_late=True, reject_on_worker_lost=True)
def export_customers(export_id: str) -> None:
    exports.customer_export_process(export_id=export_id)


@shared_task(name="bulk.requeue_stale_jobs")
def requeue_stale_jobs() -> int:
    """Beat task: queue again the imports and exports whose worker died or whose message was lost."""
    return exports.bulk_jobs_requeue_stale()


@shared_task(name="bulk.expire_exports")
def expire_exports() -> int:
    """Beat task: erase export files past CUSTOMER_EXPORT_RETENTION_HOURS."""
    return exports.customer_exports_expire()
