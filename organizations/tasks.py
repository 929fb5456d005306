from celery import shared_task

from organizations import services


# Retried on mail-server errors (SMTP down, timeouts): the alert is already recorded, only the email waits.
@shared_task(
    name="organizations.send_low_balance_email",
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
)
def send_low_balance_email(entry_id: int) -> bool:
    return services.low_balance_email_send(entry_id=entry_id)
