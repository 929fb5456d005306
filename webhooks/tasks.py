"""Webhook tasks: thin wrappers that load by id and call a service. All run on the `webhooks` queue."""

from celery import shared_task

from webhooks import services


@shared_task(name=services.DELIVER_ENDPOINT_TASK, ignore_result=True)
def deliver_endpoint(webhook_id: str) -> int:
    return services.webhook_deliveries_send_due(webhook_id=webhook_id)


@shared_task(name="webhooks.dispatch_due_deliveries", ignore_result=True)
def dispatch_due_deliveries() -> int:
    return services.webhook_deliveries_dispatch_due()


@shared_task(name="webhooks.prune_payloads", ignore_result=True)
def prune_payloads() -> int:
    return services.webhook_payloads_prune()


DISABLED_EMAIL_RETRIES = 8


# The endpoint is disabled and the event went with it; the email is retried while the mail server is down
# (30 s, 60 s, … then every 10 minutes: about 45 minutes in all).
@shared_task(name="webhooks.send_endpoint_disabled_email", bind=True, max_retries=DISABLED_EMAIL_RETRIES)
def send_endpoint_disabled_email(self, webhook_id: str, disabled_at: str) -> bool:
    try:
        return services.webhook_disabled_email_send(webhook_id=webhook_id, disabled_at=disabled_at)
    except services.DisabledNoticeFailed as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600)) from None
        return False
