from celery import shared_task

from apikeys import services


@shared_task(name="apikeys.record_expired_keys", ignore_result=True)
def record_expired_keys() -> int:
    return services.apikey_expired_record()
