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
