"""The event outbox: record events with their deliveries, wake endpoints, sweep the overdue, prune the old.

`webhook_event_record` runs inside the transaction of the state change that causes the event and writes
the event plus one pending delivery per subscribed active endpoint. After commit each endpoint with new
deliveries is woken (`webhooks.deliver_endpoint`, skipped while one wake-up is already queued); if the
broker is down then, nothing is lost: the beat sweeper (`webhook_deliveries_dispatch_due`) wakes every
endpoint with an overdue pending delivery.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from api.ids import new_id
from infrastructure.shared_cache import shared_cache_backend
from organizations.models import Organization
from webhooks import signing
from webhooks.models import EVENTS, Webhook, WebhookDelivery, WebhookEvent

logger = logging.getLogger("garmax.webhooks")

# The sweeper leaves a due delivery to its own queued task for this long before re-queuing it.
SWEEP_GRACE_SECONDS = 30
# How long the sweeper leaves an endpoint it woke alone. Short, because the wake-up it queued may itself be
# lost (taken by a worker that was then killed: Redis gives it back only after the visibility timeout), and
# an extra wake-up is harmless (deliveries are claimed before they are sent): at most one per endpoint per
# this many seconds while its deliveries are overdue.
SWEEP_REPEAT_SECONDS = 30
SWEEP_BATCH = 500
# An immediate wake-up is skipped while another is queued; this bounds how long a lost one can suppress them.
WAKE_MARKER_SECONDS = 60


def webhook_event_record(*, organization_id: str, event: str, data: dict) -> WebhookEvent:
    """Record `event` and one pending delivery per active endpoint of the organization subscribed to it.

    Call it inside the transaction of the state change that causes the event: both commit or neither does.
    Deliveries are queued only after commit; a broker failure then is logged and left to the sweeper.
    The body is serialized now, once, so every attempt sends the same bytes; a value JSON cannot carry
    (NaN, an arbitrary object) raises ValueError/TypeError here, inside the caller's transaction.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    with transaction.atomic():
        record = _event_create(organization_id=organization_id, event=event, data=data)
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
        _dispatch_on_commit(deliveries)
    return record


def _event_create(*, organization_id: str, event: str, data: dict) -> WebhookEvent:
    event_id, now = new_id("evt"), timezone.now()
    # Test-mode work happens in the organization's sandbox, whose endpoints only test keys can register.
    # Partners know one organization id in both modes (GET /v1/account shows the live one): payloads too.
    live_id = Organization.objects.filter(pk=organization_id).values_list("sandbox_of_id", flat=True).first()
    livemode = live_id is None
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


def _dispatch_on_commit(deliveries: list[WebhookDelivery]) -> None:
    webhook_ids = list(dict.fromkeys(d.webhook_id for d in deliveries))
    if webhook_ids:
        transaction.on_commit(lambda: webhook_endpoints_wake(webhook_ids=webhook_ids))


def _wake_key(webhook_id: str) -> str:
    return f"webhooks:wake:{webhook_id}"


def webhook_endpoints_wake(*, webhook_ids: list[str], countdown: float = 0, coalesce: bool = True) -> int:
    """Queue a task that sends whatever is due to each endpoint; returns how many were queued.

    Never raises: if the broker is down the deliveries stay pending and the sweeper queues them later.
    An immediate wake-up is skipped while the endpoint's wake-up marker is set in the shared cache: a
    sending task clears it before it looks for due deliveries, so a delivery committed while it is set is
    found by a later look (see `webhook_deliveries_send_due`). A thousand events for one endpoint thus
    cost a handful of tasks, not a thousand. A `countdown` wake-up (a retry) is always queued: the marker
    says nothing about when the queued task will run relative to the retry's due time; so is one with
    `coalesce=False` (the sweeper: a lost task may have left its marker behind). Without a shared cache
    (embedded mode: each process has its own) every wake-up is queued.
    """
    from webhooks.tasks import deliver_endpoint

    queued = 0
    for webhook_id in webhook_ids:
        marked = coalesce and not countdown and shared_cache_backend() is not None
        if marked and not cache.add(_wake_key(webhook_id), 1, WAKE_MARKER_SECONDS):
            continue
        try:
            deliver_endpoint.apply_async(
                (webhook_id,),
                countdown=countdown or None,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
            )
            queued += 1
        except Exception as exc:
            # Broker down: the rows are committed, so the sweeper will queue them once it is back.
            if marked:
                cache.delete(_wake_key(webhook_id))
            logger.warning("Could not queue webhook deliveries for %s: %s", webhook_id, type(exc).__name__)
    return queued


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
