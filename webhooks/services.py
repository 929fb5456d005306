"""Webhooks: endpoints, the event outbox, and delivery with retries.

Flow: `webhook_event_record` runs inside the transaction of the state change that causes the event and
writes the event plus one pending delivery per subscribed active endpoint. After commit each delivery is
queued (`webhooks.deliver`); if the broker is down then, nothing is lost: the beat sweeper
(`webhook_deliveries_dispatch_due`) re-queues every pending delivery that is overdue.

A delivery is claimed with a conditional UPDATE that pushes `next_attempt_at` forward by a lease, so two
copies of the task (a retry plus a sweeper re-queue, or a redelivered broker message) never send the same
attempt twice; if the worker dies mid-send the lease expires and the sweeper picks it up again.
"""

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, ValidationError
from config.ids import new_id
from config.outbound import OutboundBlocked, OutboundFailed, check_url, post
from webhooks import signing
from webhooks.models import (
    EVENTS,
    SUBSCRIBABLE_EVENTS,
    WEBHOOK_TEST,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)

logger = logging.getLogger("garmax.webhooks")

RETRY_DELAYS_SECONDS = (5, 15, 45)  # then ×3 each
MAX_RETRIES = 10
MAX_RETRY_DELAY_SECONDS = 12 * 3600
MAX_RETRY_AFTER_SECONDS = 3600
RETRY_JITTER = 0.1  # up to 10 % later, so a fleet of retries does not hit a partner in lock step
FAILURES_BEFORE_DISABLE = 10
RESPONSE_BODY_LOG_BYTES = 1024
ROTATION_GRACE = timedelta(hours=24)
# A worker holding a delivery for longer than this is presumed dead.
LEASE_MARGIN_SECONDS = 30
SLOT_BUSY_RETRY_SECONDS = 2.0
# The sweeper leaves a due delivery to its own queued task for this long before re-queuing it.
SWEEP_GRACE_SECONDS = 30
SWEEP_BATCH = 500
RECOVER_MAX = 1000


# --- Endpoints ---------------------------------------------------------------------------------------


def _validate_url(url: str) -> str:
    try:
        check_url(url)
    except OutboundBlocked as exc:
        raise ValidationError(details={"url": [str(exc)]}) from None
    return url


def _validate_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError(details={"events": ["Subscribe to at least one event."]})
    unknown = sorted({e for e in events if e not in SUBSCRIBABLE_EVENTS}, key=str)
    if unknown:
        raise ValidationError(
            details={"events": [f"Unknown event(s): {', '.join(map(str, unknown))}."]},
        )
    return list(dict.fromkeys(events))


def webhook_create(*, organization_id: str, url: str, events: list[str], description: str = "") -> Webhook:
    """Create an active endpoint with a new secret. The URL must pass the outbound target rules now."""
    return Webhook.objects.create(
        organization_id=organization_id,
        url=_validate_url(url),
        events=_validate_events(events),
        description=description,
        secret=signing.secret_generate(),
    )


def webhook_update(
    *,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Webhook:
    """Change an endpoint. Re-enabling (`is_active=True`) also forgets its failure streak."""
    if url is not None:
        webhook.url = _validate_url(url)
    if events is not None:
        webhook.events = _validate_events(events)
    if description is not None:
        webhook.description = description
    if is_active is True:
        webhook.is_active = True
        webhook.consecutive_failures = 0
        webhook.disabled_at = None
        webhook.disabled_reason = ""
    elif is_active is False:
        webhook.is_active = False
        webhook.disabled_at = timezone.now()
        webhook.disabled_reason = "Disabled by the partner."
    webhook.save()
    return webhook


def webhook_enable(*, webhook: Webhook) -> Webhook:
    return webhook_update(webhook=webhook, is_active=True)


def webhook_delete(*, webhook: Webhook) -> None:
    """Delete the endpoint with its delivery log; queued tasks for it find nothing and stop."""
    webhook.delete()


def webhook_rotate_secret(*, webhook: Webhook) -> Webhook:
    """New secret now; the old one keeps signing alongside it for 24 h so partners can switch over.

    Row-locked so two concurrent rotations cannot both demote the same secret and lose one.
    """
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION_GRACE
        locked.secret = signing.secret_generate()
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return locked


def _signing_secrets(webhook: Webhook, now: datetime) -> list[str]:
    active = [webhook.secret]
    if (
        webhook.previous_secret
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now
    ):
        active.append(webhook.previous_secret)
    return active


# --- Events (the outbox) ------------------------------------------------------------------------------


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
        _dispatch_on_commit([d.id for d in deliveries])
    return record


def _event_create(*, organization_id: str, event: str, data: dict) -> WebhookEvent:
    event_id, now = new_id("evt"), timezone.now()
    payload = {"id": event_id, "event": event, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    return WebhookEvent.objects.create(
        id=event_id,
        organization_id=organization_id,
        event=event,
        body=signing.encode_json(payload),
        created_at=now,
    )


def _dispatch_on_commit(delivery_ids: list[str]) -> None:
    if delivery_ids:
        transaction.on_commit(lambda: webhook_deliveries_enqueue(delivery_ids=delivery_ids))


def webhook_deliveries_enqueue(*, delivery_ids: list[str], countdown: float = 0) -> int:
    """Queue delivery tasks; returns how many were queued. Never raises: the sweeper covers failures."""
    from webhooks.tasks import deliver

    queued = 0
    for delivery_id in delivery_ids:
        try:
            deliver.apply_async(
                (delivery_id,),
                countdown=countdown or None,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
            )
            queued += 1
        except Exception as exc:
            # Broker down: the rows are committed, so the sweeper will queue them once it is back.
            logger.warning("Could not queue webhook delivery %s: %s", delivery_id, type(exc).__name__)
    return queued


# --- Delivery -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    succeeded: bool
    status_code: int | None
    duration_ms: int
    response_body: str
    error: str
    retry_after: float | None = None


def retry_delay(retry_number: int) -> float:
    """Seconds before retry `retry_number` (1-based): 5, 15, 45, then ×3, capped; plus a little jitter."""
    if retry_number <= len(RETRY_DELAYS_SECONDS):
        base = RETRY_DELAYS_SECONDS[retry_number - 1]
    else:
        base = RETRY_DELAYS_SECONDS[-1] * 3 ** (retry_number - len(RETRY_DELAYS_SECONDS))
    base = min(base, MAX_RETRY_DELAY_SECONDS)
    return base * (1 + random.uniform(0, RETRY_JITTER))


def _parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


def _send(*, webhook: Webhook, event: WebhookEvent, now: datetime) -> AttemptOutcome:
    """One signed POST. Network errors, blocked targets, non-2xx and 3xx all come back as failures."""
    body = event.body.encode()
    timestamp = int(now.timestamp())
    secrets_in_use = _signing_secrets(webhook, now)
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Signature": signing.signature_hex(secret=webhook.secret, body=body),
        "X-Webhook-Event": event.event,
        "X-Webhook-Id": event.id,
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_standard(
            secrets_in_use=secrets_in_use, message_id=event.id, timestamp=timestamp, body=body
        ),
    }
    if len(secrets_in_use) > 1:
        # The seed's single hex header can carry one secret; partners mid-rotation can check this one.
        headers["X-Webhook-Signature-Previous"] = signing.signature_hex(secret=secrets_in_use[1], body=body)
    started = time.monotonic()
    try:
        response = post(
            webhook.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            max_response_bytes=RESPONSE_BODY_LOG_BYTES,
        )
    except (OutboundBlocked, OutboundFailed) as exc:
        return AttemptOutcome(False, None, _elapsed_ms(started), "", str(exc)[:500])
    duration = _elapsed_ms(started)
    text = response.content[:RESPONSE_BODY_LOG_BYTES].decode("utf-8", errors="replace")
    code = response.status_code
    if 200 <= code < 300:
        return AttemptOutcome(True, code, duration, text, "")
    error = "Redirects are not followed." if 300 <= code < 400 else f"HTTP {code}"
    retry_after = _parse_retry_after(response.headers.get("Retry-After"), now) if code in (429, 503) else None
    return AttemptOutcome(False, code, duration, text, error, retry_after)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _slot_key(webhook_id: str, slot: int) -> str:
    return f"webhooks:slot:{webhook_id}:{slot}"


def _acquire_slot(webhook_id: str) -> str | None:
    ttl = settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS
    # One partner endpoint may occupy at most this many worker slots at once; the rest wait their turn.
    for slot in range(settings.WEBHOOK_ENDPOINT_CONCURRENCY):
        key = _slot_key(webhook_id, slot)
        if cache.add(key, 1, ttl):
            return key
    return None


def _claim(delivery_id: str, now: datetime) -> bool:
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + lease)
    # Nothing updated: another worker holds it, it is not due yet, or it already finished.
    return claimed == 1


def webhook_delivery_attempt(*, delivery_id: str) -> WebhookAttempt | None:
    """Make the next attempt of a pending, due delivery, and schedule what follows.

    Safe to call any number of times concurrently for one delivery: only the caller that claims it sends.
    Returns the logged attempt, or None when nothing was sent (not due, taken, endpoint disabled or at its
    concurrency cap — in which case the delivery is re-queued shortly).
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook", "event", "organization").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            last_error="Endpoint is disabled.",
            updated_at=now,
        )
        return None
    slot = _acquire_slot(webhook.id)
    if slot is None:
        wait = SLOT_BUSY_RETRY_SECONDS * (1 + random.uniform(0, 0.5))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now + timedelta(seconds=wait))
        webhook_deliveries_enqueue(delivery_ids=[delivery.pk], countdown=wait)
        return None
    try:
        outcome = _send(webhook=webhook, event=delivery.event, now=now)
    finally:
        cache.delete(slot)
    retries = max(0, min(delivery.organization.webhook_retries, MAX_RETRIES))
    return _record_outcome(delivery=delivery, outcome=outcome, retries=retries)


def _record_outcome(*, delivery: WebhookDelivery, outcome: AttemptOutcome, retries: int) -> WebhookAttempt:
    now = timezone.now()
    webhook = delivery.webhook
    number = delivery.attempt_count + 1
    next_due = None
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_body=outcome.response_body,
            error=outcome.error,
        )
        fields = {
            "attempt_count": number,
            "last_status_code": outcome.status_code,
            "last_error": outcome.error,
            "updated_at": now,
        }
        if outcome.succeeded:
            fields.update(status=WebhookDelivery.Status.SUCCEEDED, delivered_at=now, next_attempt_at=None)
            if webhook.consecutive_failures:
                Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0)
        elif outcome.status_code == 410:
            fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
            _disable(webhook.pk, now, "Endpoint answered 410 Gone.")
        elif number <= retries:
            delay = retry_delay(number)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            next_due = now + timedelta(seconds=delay)
            fields.update(next_attempt_at=next_due)
        else:
            fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
            # F() so concurrent deliveries to one endpoint each count; then disable once at the threshold.
            Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
            Webhook.objects.filter(
                pk=webhook.pk, is_active=True, consecutive_failures__gte=FAILURES_BEFORE_DISABLE
            ).update(
                is_active=False,
                disabled_at=now,
                disabled_reason=f"{FAILURES_BEFORE_DISABLE} consecutive deliveries failed.",
                updated_at=now,
            )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if next_due is not None:
            countdown = (next_due - now).total_seconds()
            transaction.on_commit(
                lambda: webhook_deliveries_enqueue(delivery_ids=[delivery.pk], countdown=countdown)
            )
    return attempt


def _disable(webhook_id: str, now: datetime, reason: str) -> None:
    Webhook.objects.filter(pk=webhook_id, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    )


def webhook_deliveries_dispatch_due(*, grace_seconds: float = SWEEP_GRACE_SECONDS) -> int:
    """The outbox sweeper: re-queue pending deliveries overdue by more than `grace_seconds`.

    Their task was lost (broker down at commit, worker killed) or is stuck behind a backlog; queuing a
    duplicate is harmless because the attempt claims the row first. A short cache marker keeps one overdue
    delivery from being queued again on every beat while its task waits in the queue.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    fresh = [d for d in due if cache.add(f"webhooks:swept:{d}", 1, 120)]
    queued = webhook_deliveries_enqueue(delivery_ids=fresh)
    if queued < len(fresh):
        cache.delete_many([f"webhooks:swept:{d}" for d in fresh])
    return queued


def webhook_test_send(*, webhook: Webhook) -> WebhookAttempt:
    """Send a signed `webhook.test` event now, once, and log it. It never retries or counts as a failure."""
    event = _event_create(
        organization_id=webhook.organization_id,
        event=WEBHOOK_TEST,
        data={
            "webhookId": webhook.id,
            "organizationId": webhook.organization_id,
            "message": "This is a test event from GarmaxAI.",
        },
    )
    delivery = WebhookDelivery.objects.create(
        organization_id=webhook.organization_id, webhook=webhook, event=event, next_attempt_at=None
    )
    outcome = _send(webhook=webhook, event=event, now=timezone.now())
    delivery.webhook = webhook
    with transaction.atomic():
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=1,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_body=outcome.response_body,
            error=outcome.error,
        )
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
        _dispatch_on_commit([again.pk])
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
            .exclude(event__event=WEBHOOK_TEST)
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
        _dispatch_on_commit([d.pk for d in created])
    return created


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
