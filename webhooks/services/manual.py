"""Sends the partner asks for: the test event, redelivery of one delivery, recovery of failed ones."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.errors import Conflict
from webhooks.events import WEBHOOK_TEST
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent
from webhooks.services.outbox import deliveries_wake_on_commit, event_create
from webhooks.services.sending import attempt_send, attempts_log

RECOVER_MAX = 1000


def webhook_test_send(*, webhook: Webhook) -> WebhookAttempt:
    """Send a signed `webhook.test` event now, once, and log it. It never retries or counts as a failure.

    It runs inside the partner's API request, so it gets at most WEBHOOK_TEST_TIMEOUT_SECONDS: well within
    a web worker's own timeout, whatever WEBHOOK_TIMEOUT_SECONDS allows background deliveries.
    """
    event = event_create(
        organization_id=webhook.organization_id,
        event=WEBHOOK_TEST.name,
        data=WEBHOOK_TEST.build(webhook=webhook),
    )
    delivery = WebhookDelivery.objects.create(
        organization_id=webhook.organization_id, webhook=webhook, event=event, next_attempt_at=None
    )
    timeout = min(settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_TEST_TIMEOUT_SECONDS)
    outcome = attempt_send(webhook=webhook, event=event, now=timezone.now(), timeout=timeout)
    delivery.webhook = webhook
    with transaction.atomic():
        (attempt,) = attempts_log([(delivery, outcome)])  # a fresh delivery: attempt 1
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.SUCCEEDED if outcome.succeeded else WebhookDelivery.Status.FAILED,
            attempt_count=1,
            last_status_code=outcome.status_code,
            last_error=outcome.error,
            delivered_at=timezone.now() if outcome.succeeded else None,
        )
    return attempt


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a past event to its endpoint again as a new delivery (same `webhook-id`, fresh retries)."""
    webhook = delivery.webhook
    if not webhook.is_active:
        raise Conflict("The webhook is disabled; re-enable it before redelivering.")
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            organization_id=delivery.organization_id,
            webhook=webhook,
            event_id=delivery.event_id,
            next_attempt_at=timezone.now(),
        )
        deliveries_wake_on_commit([again])
    return again


def webhook_recover(*, webhook: Webhook, since: datetime) -> list[WebhookDelivery]:
    """Redeliver every event whose delivery to `webhook` failed since `since` and never succeeded later.

    Each event is sent once, however many failed deliveries it had.
    """
    if not webhook.is_active:
        raise Conflict("The webhook is disabled; re-enable it before recovering deliveries.")
    with transaction.atomic():
        failed_events = (
            WebhookDelivery.objects.filter(
                webhook=webhook, status=WebhookDelivery.Status.FAILED, created_at__gte=since
            )
            .exclude(event__event=WEBHOOK_TEST.name)
            .values_list("event_id", flat=True)
            .distinct()
        )
        settled = WebhookDelivery.objects.filter(
            webhook=webhook,
            event_id__in=failed_events,
            status__in=[WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.PENDING],
        ).values_list("event_id", flat=True)
        event_ids = list(
            WebhookEvent.objects.filter(pk__in=failed_events)
            .exclude(pk__in=settled)
            .order_by("created_at")
            .values_list("id", flat=True)[:RECOVER_MAX]
        )
        now = timezone.now()
        created = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                organization_id=webhook.organization_id, webhook=webhook, event_id=eid, next_attempt_at=now
            )
            for eid in event_ids
        )
        deliveries_wake_on_commit(created)
    return created
