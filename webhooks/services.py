"""Webhooks: endpoints, the event outbox, and delivery with retries.

Flow: `webhook_event_record` runs inside the transaction of the state change that causes the event and
writes the event plus one pending delivery per subscribed active endpoint. After commit each endpoint with
new deliveries is woken (`webhooks.deliver_endpoint`, skipped while one wake-up is already queued); if the
broker is down then, nothing is lost: the beat sweeper (`webhook_deliveries_dispatch_due`) wakes every
endpoint with an overdue pending delivery.

A woken task sends what is due to its endpoint in chunks. A chunk is claimed with a conditional UPDATE (on
rows locked with SKIP LOCKED where the database has it) that pushes `next_attempt_at` forward by a lease,
so concurrent tasks (a retry, a sweeper wake-up, a redelivered broker message) never send the same attempt
twice; if the worker dies mid-send the lease expires and the sweeper picks the delivery up again. Each
attempt is logged; a chunk's log and state changes are written in one transaction.
"""

import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, ValidationError
from config.ids import new_id
from config.outbound import OutboundBlocked, OutboundFailed, check_url, post
from config.shared_cache import shared_cache_backend
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
# A chunk's next attempt starts only this soon after the claim, so that even an attempt using its whole
# connect and read timeouts ends before the lease does (the rest of the chunk is handed back).
SEND_WINDOW_SECONDS = LEASE_MARGIN_SECONDS - 10
# The sweeper leaves a due delivery to its own queued task for this long before re-queuing it.
SWEEP_GRACE_SECONDS = 30
SWEEP_BATCH = 500
# An immediate wake-up is skipped while another is queued; this bounds how long a lost one can suppress them.
WAKE_MARKER_SECONDS = 60
# Due deliveries of one endpoint claimed and sent per round trip to the database.
DELIVERY_CHUNK = 50
# How long one task keeps sending to one endpoint before re-queuing itself behind other endpoints' work.
DRAIN_BUDGET_SECONDS = 10
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
        _dispatch_on_commit(deliveries)
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


def _send(
    *,
    webhook: Webhook,
    event: WebhookEvent,
    now: datetime,
    keep_alive: bool = False,
    timeout: float | None = None,
) -> AttemptOutcome:
    """One signed POST. Network errors, blocked targets, non-2xx and 3xx all come back as failures.

    `keep_alive` reuses this thread's connection to the endpoint (workers send many deliveries to few
    hosts); one-off sends such as the test event close theirs. `timeout` (default WEBHOOK_TIMEOUT_SECONDS)
    is the attempt's total wall-clock budget, however slowly the endpoint answers.
    """
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
            timeout=timeout or settings.WEBHOOK_TIMEOUT_SECONDS,
            max_response_bytes=RESPONSE_BODY_LOG_BYTES,
            keep_alive=keep_alive,
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
    # Outlives the longest hold: the sending budget, then one last chunk started within its send window.
    ttl = DRAIN_BUDGET_SECONDS + LEASE_MARGIN_SECONDS + 2 * settings.WEBHOOK_TIMEOUT_SECONDS
    # One partner endpoint may occupy at most this many worker slots at once; the rest wait their turn.
    for slot in range(settings.WEBHOOK_ENDPOINT_CONCURRENCY):
        key = _slot_key(webhook_id, slot)
        if cache.add(key, 1, ttl):
            return key
    return None


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)


def _due(webhook_id: str, now: datetime):
    return WebhookDelivery.objects.filter(
        webhook_id=webhook_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )


def _claim_due(webhook_id: str, now: datetime, limit: int) -> list[str]:
    """Lease up to `limit` due deliveries of one endpoint to this caller, oldest first."""
    lease_until = _lease(now)
    if connection.features.has_select_for_update_skip_locked:
        # Rows another worker is claiming right now are skipped, not waited for; the conditional UPDATE
        # runs on rows this transaction holds locked, so it cannot lose them to anyone.
        with transaction.atomic():
            ids = list(
                _due(webhook_id, now)
                .select_for_update(skip_locked=True)
                .order_by("next_attempt_at", "created_at")
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                _due(webhook_id, now).filter(pk__in=ids).update(next_attempt_at=lease_until)
        return ids
    # No row locks (SQLite): one conditional UPDATE per row, each of which only one caller can win.
    candidates = _due(webhook_id, now).order_by("next_attempt_at", "created_at").values_list("pk", flat=True)
    return [pk for pk in list(candidates[:limit]) if _claim(pk, now)]


def _claim(delivery_id: str, now: datetime) -> bool:
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=_lease(now))
    # Nothing updated: another worker holds it, it is not due yet, or it already finished.
    return claimed == 1


def _release(delivery_ids: list[str], now: datetime) -> None:
    """Hand claimed but unsent deliveries back, due at once."""
    if delivery_ids:
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING).update(
            next_attempt_at=now
        )


def _fail_disabled(delivery_ids: list[str], now: datetime) -> None:
    WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED,
        next_attempt_at=None,
        last_error="Endpoint is disabled.",
        updated_at=now,
    )


def webhook_deliveries_send_due(*, webhook_id: str) -> int:
    """Send every due delivery of one endpoint, in claimed chunks, on one of the endpoint's worker slots.

    Returns how many attempts were made. Safe to run any number of times concurrently for one endpoint:
    chunks are claimed under a lease (row locks skipped, not waited for), so each attempt is sent by one
    caller only, and at most WEBHOOK_ENDPOINT_CONCURRENCY callers send to one endpoint at once. A caller
    finding every slot taken returns at once and leaves the wake-up marker set (so a burst of commits does
    not queue a task each); every slot holder clears the marker before each look for due deliveries and,
    after releasing its slot, clears it and looks once more, queuing a wake-up for anything due. Between
    them, every committed delivery is either found by a holder or wakes the endpoint itself, and nothing
    waits for the sweeper unless a worker dies.

    A chunk is sent in order and logged in one transaction; an attempt starts only while the chunk's lease
    still covers a full timeout, so a slow endpoint never keeps a claimed delivery past its lease (the rest
    are handed back). The first full chunk queues one more caller, so a backlog is worked on by up to the
    slot cap in parallel. After DRAIN_BUDGET_SECONDS the caller releases its slot and leaves the rest to a
    fresh wake-up queued behind other endpoints' work, instead of looping on.
    A worker dying mid-chunk loses nothing: its leases expire and the sweeper re-queues the deliveries
    (whose attempts may then be sent twice — delivery is at least once; `webhook-id` lets partners dedupe).
    """
    slot = _acquire_slot(webhook_id)
    if slot is None:
        return 0
    sent, fanned_out = 0, False
    started = time.monotonic()
    try:
        while time.monotonic() - started < DRAIN_BUDGET_SECONDS:
            # Cleared before every look, so whatever is committed after it wakes the endpoint again.
            cache.delete(_wake_key(webhook_id))
            now, claimed_at = timezone.now(), time.monotonic()  # the lease runs from here
            claimed = _claim_due(webhook_id, now, DELIVERY_CHUNK)
            if not claimed:
                break
            if len(claimed) == DELIVERY_CHUNK and not fanned_out:
                fanned_out = True
                _fan_out(webhook_id)
            sent += _send_chunk(webhook_id=webhook_id, delivery_ids=claimed, claimed_at=claimed_at)
    finally:
        cache.delete(slot)
    _look_again_after_release(webhook_id)
    return sent


def _look_again_after_release(webhook_id: str) -> None:
    """Callers turned away at the cap left the wake-up marker set and rely on this: wake for what is due."""
    cache.delete(_wake_key(webhook_id))
    if _due(webhook_id, timezone.now()).exists():
        webhook_endpoints_wake(webhook_ids=[webhook_id], coalesce=False)


def _fan_out(webhook_id: str) -> None:
    from webhooks.tasks import deliver_endpoint

    try:
        deliver_endpoint.apply_async((webhook_id,))
    except Exception as exc:
        # Only parallelism is lost: this caller goes on sending the backlog itself.
        logger.warning("Could not queue a helper for %s: %s", webhook_id, type(exc).__name__)


def _send_chunk(*, webhook_id: str, delivery_ids: list[str], claimed_at: float) -> int:
    webhook = Webhook.objects.select_related("organization").filter(pk=webhook_id).first()
    if webhook is None:
        return 0  # deleted meanwhile, and its deliveries with it
    if not webhook.is_active:
        _fail_disabled(delivery_ids, timezone.now())
        return 0
    by_id = WebhookDelivery.objects.select_related("event").in_bulk(delivery_ids)
    results = []
    for position, delivery_id in enumerate(delivery_ids):
        # An attempt may take a full timeout; start one only while the lease still covers that.
        if time.monotonic() - claimed_at > SEND_WINDOW_SECONDS:
            _release(delivery_ids[position:], timezone.now())
            break
        delivery = by_id.get(delivery_id)
        if delivery is None:
            continue
        outcome = _send(webhook=webhook, event=delivery.event, now=timezone.now(), keep_alive=True)
        results.append((delivery, outcome, timezone.now()))
        if outcome.status_code == 410:
            # The endpoint is gone: the rest of the chunk goes back and fails once the 410 is recorded.
            _release(delivery_ids[position + 1 :], timezone.now())
            break
    retries = max(0, min(webhook.organization.webhook_retries, MAX_RETRIES))
    _record_outcomes(webhook=webhook, results=results, retries=retries)
    return len(results)


def webhook_delivery_attempt(*, delivery_id: str) -> WebhookAttempt | None:
    """Make the next attempt of one pending, due delivery now, and schedule what follows.

    Safe to call any number of times concurrently for one delivery: only the caller that claims it sends.
    Returns the logged attempt, or None when nothing was sent (not due, taken, endpoint disabled, or at its
    concurrency cap — then the delivery stays due and a slot holder picks it up when it lets go).
    """
    now = timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook__organization", "event").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.is_active:
        _fail_disabled([delivery.pk], now)
        return None
    slot = _acquire_slot(webhook.id)
    if slot is None:
        _release([delivery.pk], now)
        return None
    try:
        outcome = _send(webhook=webhook, event=delivery.event, now=now, keep_alive=True)
    finally:
        cache.delete(slot)
    retries = max(0, min(webhook.organization.webhook_retries, MAX_RETRIES))
    results = [(delivery, outcome, timezone.now())]
    (attempt,) = _record_outcomes(webhook=webhook, results=results, retries=retries)
    _look_again_after_release(webhook.id)
    return attempt


def _record_outcomes(
    *, webhook: Webhook, results: list[tuple[WebhookDelivery, AttemptOutcome, datetime]], retries: int
) -> list[WebhookAttempt]:
    """Log the attempts and move each delivery on, in one transaction, in the order they were sent.

    `results` are (delivery, outcome, when the attempt ended); a retry is due its delay after that end,
    not after this write, however long the rest of the chunk took.

    Successes are written with one UPDATE per run of them (the common case: the whole chunk); each failure
    is handled on its own, in sequence, so the endpoint's failure streak counts exactly as sent.
    """
    if not results:
        return []
    now = timezone.now()
    retry_countdowns: set[float] = set()
    streak_may_be_set = webhook.consecutive_failures > 0
    succeeded: dict[tuple[int | None, int], list[str]] = {}

    def flush_successes() -> None:
        for (code, number), ids in succeeded.items():
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=WebhookDelivery.Status.SUCCEEDED,
                attempt_count=number,
                last_status_code=code,
                last_error="",
                delivered_at=now,
                next_attempt_at=None,
                updated_at=now,
            )
        if succeeded and streak_may_be_set:
            Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        succeeded.clear()

    with transaction.atomic():
        attempts = WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=delivery,
                number=delivery.attempt_count + 1,
                succeeded=outcome.succeeded,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                response_body=outcome.response_body,
                error=outcome.error,
            )
            for delivery, outcome, _ in results
        )
        for delivery, outcome, ended_at in results:
            number = delivery.attempt_count + 1
            if outcome.succeeded:
                succeeded.setdefault((outcome.status_code, number), []).append(delivery.pk)
                continue
            flush_successes()
            fields = {
                "attempt_count": number,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "updated_at": now,
            }
            if outcome.status_code == 410:
                fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
                _disable(webhook.pk, now, "Endpoint answered 410 Gone.")
            elif number <= retries:
                delay = retry_delay(number)
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                next_due = ended_at + timedelta(seconds=delay)
                fields.update(next_attempt_at=next_due)
                # Rounded up so the wake-up never comes before the delivery is due; one per half second.
                retry_countdowns.add(math.ceil(max(0.0, (next_due - now).total_seconds()) * 2) / 2)
            else:
                fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
                # F() so concurrent deliveries to one endpoint each count; then disable once at the threshold.
                Webhook.objects.filter(pk=webhook.pk).update(
                    consecutive_failures=F("consecutive_failures") + 1
                )
                Webhook.objects.filter(
                    pk=webhook.pk, is_active=True, consecutive_failures__gte=FAILURES_BEFORE_DISABLE
                ).update(
                    is_active=False,
                    disabled_at=now,
                    disabled_reason=f"{FAILURES_BEFORE_DISABLE} consecutive deliveries failed.",
                    updated_at=now,
                )
                streak_may_be_set = True
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        flush_successes()
        for countdown in sorted(retry_countdowns):
            transaction.on_commit(
                lambda countdown=countdown: webhook_endpoints_wake(
                    webhook_ids=[webhook.pk], countdown=countdown
                )
            )
    return attempts


def _disable(webhook_id: str, now: datetime, reason: str) -> None:
    Webhook.objects.filter(pk=webhook_id, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    )


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
    fresh = [w for w in overdue if cache.add(f"webhooks:swept:{w}", 1, 120)]
    queued = webhook_endpoints_wake(webhook_ids=fresh, coalesce=False)
    if queued < len(fresh):
        cache.delete_many([f"webhooks:swept:{w}" for w in fresh])
    return queued


def webhook_test_send(*, webhook: Webhook) -> WebhookAttempt:
    """Send a signed `webhook.test` event now, once, and log it. It never retries or counts as a failure.

    It runs inside the partner's API request, so it gets at most WEBHOOK_TEST_TIMEOUT_SECONDS: well within
    a web worker's own timeout, whatever WEBHOOK_TIMEOUT_SECONDS allows background deliveries.
    """
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
    timeout = min(settings.WEBHOOK_TIMEOUT_SECONDS, settings.WEBHOOK_TEST_TIMEOUT_SECONDS)
    outcome = _send(webhook=webhook, event=event, now=timezone.now(), timeout=timeout)
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
        _dispatch_on_commit([again])
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
        _dispatch_on_commit(created)
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
