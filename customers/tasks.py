from celery import shared_task

from customers import services


@shared_task(name="customers.retry_pending_erasures")
def retry_pending_erasures() -> int:
    """Beat task: delete stored objects whose erasure failed or was interrupted."""
    return services.pending_erasures_retry()
