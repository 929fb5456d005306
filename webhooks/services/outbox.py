"""The event outbox: record events with their deliveries, wake endpoints, sweep the overdue, prune the old.

`webhook_event_record` runs inside the transaction of the state change that causes the event and writes
the event plus one pending delivery per subscribed active endpoint. After commit each endpoint with new
deliveries is woken (`wakeups`, skipped while one wake-up is already queued); if the broker is down then,
nothing is lost: the beat sweeper (`webhook_deliveries_dispatch_due`) wakes every endpoint with an overdue
pending delivery. Other apps' events arrive by api.events.event_emitted (`webhook_event_receive`).
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from api.events import EventType, event_type_get
from api.ids import new_id
from api.versions import latest_version, payload_in_version
from organizations.models import Organization
from webhooks import signing
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from webhooks.services.wakeups import webhook_endpoints_wake

# The sweeper leaves a due delivery to its own queued task for this long before re-queuing it.
SWEEP_GRACE_SECONDS = 30
# How long the sweeper leaves an endpoint it woke alone. Short, because the wake-up it queued may itself be
# lost (taken by a worker that was then killed: Redis gives it back only after the visibility timeout), and
# an extra wake-up is harmless (deliveries are claimed before they are sent): at most one per endpoint per
# this many seconds while its deliveries are overdue.
SWEEP_REPEAT_SECONDS = 30
SWEEP_BATCH = 500


def webhook_event_record(*, organization_id: str, event: str, data: dict) -> WebhookEvent:
    """Record `event` and one pending delivery per active endpoint of the organization subscribed to it.

    Call it inside the transaction of the state change that causes the event: both commit or neither does.
    Deliveries are queued only after commit; a broker failure then is logged and left to the sweeper.
    The body is serialized now, once, so every attempt sends the same bytes; a value JSON cannot carry
    (NaN, an arbitrary object) raises ValueError/TypeError here, inside the caller's transaction.
    """
    event_type_get(event)  # ValueError for a name the catalogue does not declare
    with transaction.atomic():
        record = event_create(organization_id=organization_id, event=event, data=data)
        endpoints = [
            webhook
            for webhook in Webhook.objects.filter(organization_id=organization_id, is_active=True)
            if event in webhook.events
        ]
        now = timezone.now()
        deliveries = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                organization_id=organization_id, webhook=webhook, event=record, next_attempt_at=now
            )
            for webhook in endpoints
        )
        deliveries_wake_on_commit(deliveries)
    return record


def webhook_event_receive(*, event_type: EventType, organization_id: str, data: dict, **kwargs) -> None:
    """Receiver of api.events.event_emitted (connected by WebhooksConfig.ready): record what was emitted."""
    webhook_event_record(organization_id=organization_id, event=event_type.name, data=data)


def event_create(*, organization_id: str, event: str, data: dict) -> WebhookEvent:
    """The event row alone, its body fixed now; deliveries are the caller's."""
    event_id, now = new_id("evt"), timezone.now()
    # Test-mode work happens in the organization's sandbox, whose endpoints only test keys can register.
    # Partners know one organization id in both modes (GET /v1/account shows the live one): payloads too.
    live_id, own_version, live_version = Organization.objects.filter(pk=organization_id).values_list(
        "sandbox_of_id", "api_version", "sandbox_of__api_version"
    ).first() or (None, latest_version(), None)
    livemode = live_id is None
    # The body is rendered in the version the organization pinned (its sandbox follows the live pin).
    data = payload_in_version(live_version or own_version, event=event, data=data)
    if not livemode and data.get("organizationId") == organization_id:
        data = {**data, "organizationId": live_id}
    payload = {
        "id": event_id,
        "event": event,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "livemode": livemode,
        "data": data,
    }
    return WebhookEvent.objects.create(
        id=event_id,
        organization_id=organization_id,
        event=event,
        body=signing.encode_json(payload),
        created_at=now,
    )


def deliveries_wake_on_commit(deliveries: list[WebhookDelivery]) -> None:
    """Wake the deliveries' endpoints once the caller's transaction commits (never for a rollback)."""
    webhook_ids = list(dict.fromkeys(d.webhook_id for d in deliveries))
    if webhook_ids:
        transaction.on_commit(lambda: webhook_endpoints_wake(webhook_ids=webhook_ids))


def _swept_key(webhook_id: str) -> str:
    return f"webhooks:swept:{webhook_id}"


def webhook_deliveries_dispatch_due(*, grace_seconds: float = SWEEP_GRACE_SECONDS) -> int:
    """The outbox sweeper: wake every endpoint with a pending delivery overdue by more than `grace_seconds`.

    Their task was lost (broker down at commit, worker killed) or is stuck behind a backlog; an extra
    wake-up is harmless because deliveries are claimed before they are sent. A short cache marker keeps one
    endpoint from being queued again on every beat while its task waits in the queue. Returns how many
    endpoints were queued.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    overdue = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by()
        .values_list("webhook_id", flat=True)
        .distinct()[:SWEEP_BATCH]
    )
    fresh = [w for w in overdue if cache.add(_swept_key(w), 1, SWEEP_REPEAT_SECONDS)]
    queued = webhook_endpoints_wake(webhook_ids=fresh, coalesce=False)
    if queued < len(fresh):
        cache.delete_many([_swept_key(w) for w in fresh])
    return queued


def webhook_payloads_prune(*, retention_days: int | None = None) -> int:
    """Delete events (with their deliveries and attempt logs) older than the retention period.

    Events with a delivery still pending are kept until it finishes, so pruning never drops a delivery.
    """
    days = retention_days if retention_days is not None else settings.WEBHOOK_PAYLOAD_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).values("event_id")
    old = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(pk__in=pending)
    deleted, by_model = old.delete()
    return by_model.get(WebhookEvent._meta.label, 0)
