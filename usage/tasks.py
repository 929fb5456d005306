from celery import shared_task

from usage import buffer
from usage.services import request_log_maintain

# The task names keep their `apikeys.` prefix: queued messages and beat schedules already carry them.


@shared_task(name="apikeys.flush_usage", ignore_result=True)
def flush_usage() -> int:
    return buffer.usage_flush()


@shared_task(name="apikeys.prune_usage", ignore_result=True)
def prune_usage() -> dict:
    """Request log retention and partitions ahead."""
    return request_log_maintain()
