from celery import shared_task

from apikeys import expiry_reminders, services


@shared_task(name="apikeys.record_expired_keys", ignore_result=True)
def record_expired_keys() -> int:
    return services.apikey_expired_record()


@shared_task(name="apikeys.queue_expiry_reminders", ignore_result=True)
def queue_expiry_reminders() -> int:
    return expiry_reminders.apikey_expiry_reminders_queue()


EXPIRY_REMINDER_RETRIES = 8


# A claimed reminder whose email the mail backend does not take is retried (30 s, 60 s, … then every 10
# minutes: about 45 minutes in all), then given back, so the next beat claims and sends it again.
@shared_task(name=expiry_reminders.SEND_EXPIRY_REMINDER_TASK, bind=True, max_retries=EXPIRY_REMINDER_RETRIES)
def send_expiry_reminder(self, key_id: str, stage: str, expires_at: str) -> bool:
    try:
        return expiry_reminders.apikey_expiry_reminder_send(key_id=key_id, stage=stage, expires_at=expires_at)
    except expiry_reminders.ExpiryReminderFailed as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600)) from None
        expiry_reminders.apikey_expiry_reminder_rearm(key_id=key_id, stage=stage, expires_at=expires_at)
        return False
