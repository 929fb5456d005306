from celery import shared_task

from apikeys import services, usage
from usage.services import request_log_maintain


@shared_task(name="apikeys.flush_usage", ignore_result=True)
def flush_usage() -> int:
    return usage.apikey_usage_flush()


@shared_task(name="apikeys.prune_usage", ignore_result=True)
def prune_usage() -> dict:
    """Request log retention and partitions ahead (the task keeps its name: beat schedules it)."""
    return request_log_maintain()


@shared_task(name="apikeys.record_expired_keys", ignore_result=True)
def record_expired_keys() -> int:
    return services.apikey_expired_record()
