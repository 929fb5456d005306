from celery import shared_task

from apikeys import usage


@shared_task(name="apikeys.flush_usage", ignore_result=True)
def flush_usage() -> int:
    return usage.apikey_usage_flush()


@shared_task(name="apikeys.prune_usage", ignore_result=True)
def prune_usage() -> int:
    return usage.apikey_usage_prune()
