"""Tenant-scoped reads for the webhooks API and admin."""

from django.db.models import Max, QuerySet

from api.errors import ResourceNotFound
from webhooks.events import WEBHOOK_TEST
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery


def webhook_list(*, organization_id: str) -> QuerySet:
    return Webhook.objects.filter(organization_id=organization_id)


def webhook_get(*, organization_id: str, webhook_id: str) -> Webhook:
    # Another organization's webhook is indistinguishable from a missing one.
    webhook = webhook_list(organization_id=organization_id).filter(pk=webhook_id).first()
    if webhook is None:
        raise ResourceNotFound(f"Webhook {webhook_id} not found.")
    return webhook


def webhook_deliveries(*, webhook: Webhook, status: str | None = None, event: str | None = None) -> QuerySet:
    """The endpoint's delivery log, each delivery with its event and attempts."""
    deliveries = (
        WebhookDelivery.objects.filter(webhook=webhook).select_related("event").prefetch_related("attempts")
    )
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event__event=event)
    return deliveries


def webhook_delivery_get(*, webhook: Webhook, delivery_id: str) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(webhook=webhook, pk=delivery_id).first()
    if delivery is None:
        raise ResourceNotFound(f"Delivery {delivery_id} not found.")
    return delivery


def webhook_failed_attempts_in_streak(*, webhook: Webhook) -> int:
    """Failed attempts since the endpoint's last successful one."""
    # Test events are sent on request and never count towards the streak; they are left out here too.
    attempts = WebhookAttempt.objects.filter(delivery__webhook=webhook).exclude(
        delivery__event__event=WEBHOOK_TEST.name
    )
    last_success = attempts.filter(succeeded=True).aggregate(at=Max("attempted_at"))["at"]
    if last_success is not None:
        attempts = attempts.filter(attempted_at__gt=last_success)
    return attempts.filter(succeeded=False).count()
