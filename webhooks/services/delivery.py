"""Delivery: a woken task sends what is due to its endpoint in leased chunks and moves each delivery on.

Each attempt is logged; a chunk's log and state changes are written in one transaction. Failures are
retried on the endpoint's retry policy (its organization's by default), unless the receiver answered
`webhook-delivery: abort-message`; an endpoint that keeps failing, or answers 410, is disabled.
"""

import logging
import math
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from infrastructure.observability import metrics
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from webhooks.retry_policy import RetryPolicy, retry_policy_of
from webhooks.services.disabled_notice import webhook_disabled_announce
from webhooks.services.leasing import (
    LEASE_MARGIN_SECONDS,
    deliveries_claim_due,
    deliveries_due,
    deliveries_fail_disabled,
    deliveries_release,
    slot_acquire,
)
from webhooks.services.sending import AttemptOutcome, attempt_send, attempts_log, retry_delay
from webhooks.services.wakeups import deliver_endpoint_queue, wake_marker_key, webhook_endpoints_wake

logger = logging.getLogger("garmax.webhooks")

MAX_RETRIES = 10
FAILURES_BEFORE_DISABLE = 10
# A chunk's next attempt starts only this soon after the claim, so that even an attempt using its whole
# connect and read timeouts ends before the lease does (the rest of the chunk is handed back).
SEND_WINDOW_SECONDS = LEASE_MARGIN_SECONDS - 10
# Due deliveries of one endpoint claimed and sent per round trip to the database.
DELIVERY_CHUNK = 50
# How long one task keeps sending to one endpoint before re-queuing itself behind other endpoints' work.
DRAIN_BUDGET_SECONDS = 10
# Retry wake-ups fall on this grid of the clock: deliveries of one endpoint due within the same tenth of a
# second share one task, and none waits more than this past its due time (the schedule holds within ±1 s).
WAKE_GRANULARITY_SECONDS = 0.1


def _slot_ttl() -> float:
    # Outlives the longest hold: the sending budget, then one last chunk started within its send window.
    return DRAIN_BUDGET_SECONDS + LEASE_MARGIN_SECONDS + 2 * settings.WEBHOOK_TIMEOUT_SECONDS


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
    slot = slot_acquire(webhook_id, _slot_ttl())
    if slot is None:
        return 0
    sent, fanned_out = 0, False
    started = time.monotonic()
    try:
        while time.monotonic() - started < DRAIN_BUDGET_SECONDS:
            # Cleared before every look, so whatever is committed after it wakes the endpoint again.
            cache.delete(wake_marker_key(webhook_id))
            now, claimed_at = timezone.now(), time.monotonic()  # the lease runs from here
            claimed = deliveries_claim_due(webhook_id, now, DELIVERY_CHUNK)
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
    cache.delete(wake_marker_key(webhook_id))
    if deliveries_due(webhook_id, timezone.now()).exists():
        webhook_endpoints_wake(webhook_ids=[webhook_id], coalesce=False)


def _fan_out(webhook_id: str) -> None:
    try:
        deliver_endpoint_queue(webhook_id)
    except Exception as exc:
        # Only parallelism is lost: this caller goes on sending the backlog itself.
        logger.warning("Could not queue a helper for %s: %s", webhook_id, type(exc).__name__)


def _send_chunk(*, webhook_id: str, delivery_ids: list[str], claimed_at: float) -> int:
    webhook = Webhook.objects.select_related("organization").filter(pk=webhook_id).first()
    if webhook is None:
        return 0  # deleted meanwhile, and its deliveries with it
    if not webhook.is_active:
        deliveries_fail_disabled(delivery_ids, timezone.now())
        for delivery_id in delivery_ids:
            logger.warning(
                "Webhook delivery %s failed: its endpoint %s is disabled",
                delivery_id,
                webhook_id,
                extra={"delivery_id": delivery_id, "webhook_id": webhook_id},
            )
        return 0
    by_id = WebhookDelivery.objects.select_related("event").in_bulk(delivery_ids)
    results = []
    for position, delivery_id in enumerate(delivery_ids):
        # An attempt may take a full timeout; start one only while the lease still covers that.
        if time.monotonic() - claimed_at > SEND_WINDOW_SECONDS:
            deliveries_release(delivery_ids[position:], timezone.now())
            break
        delivery = by_id.get(delivery_id)
        if delivery is None:
            continue
        outcome = attempt_send(webhook=webhook, event=delivery.event, now=timezone.now(), keep_alive=True)
        results.append((delivery, outcome, timezone.now()))
        if outcome.status_code == 410:
            # The endpoint is gone: the rest of the chunk goes back and fails once the 410 is recorded.
            deliveries_release(delivery_ids[position + 1 :], timezone.now())
            break
    policy = retry_policy_of(webhook)
    _record_outcomes(webhook=webhook, results=results, policy=policy)
    return len(results)


def _record_outcomes(
    *, webhook: Webhook, results: list[tuple[WebhookDelivery, AttemptOutcome, datetime]], policy: RetryPolicy
) -> list[WebhookAttempt]:
    """Log the attempts and move each delivery on, in one transaction, in the order they were sent.

    `results` are (delivery, outcome, when the attempt ended); a retry is due its delay after that end,
    not after this write, however long the rest of the chunk took.

    Successes are written with one UPDATE per run of them (the common case: the whole chunk); each failure
    is handled on its own, in sequence, so the endpoint's failure streak counts exactly as sent.
    """
    if not results:
        return []
    retries = max(0, min(policy.max_retries, MAX_RETRIES))
    now = timezone.now()
    retry_wakes: set[datetime] = set()
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
        transaction.on_commit(lambda: _count_attempts(results))  # counted once the attempts are logged
        attempts = attempts_log((delivery, outcome) for delivery, outcome, _ in results)
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
                _log_failed_on_commit(delivery, number, outcome, why="the endpoint answered 410 Gone")
            elif outcome.aborted:
                # The receiver's own decision about this message: no failure of the endpoint's to count.
                fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
                _log_failed_on_commit(delivery, number, outcome, why="the endpoint asked for no more retries")
            elif number <= retries:
                delay = retry_delay(number, policy)
                if outcome.retry_after is not None:
                    delay = max(delay, outcome.retry_after)
                next_due = ended_at + timedelta(seconds=delay)
                fields.update(next_attempt_at=next_due)
                retry_wakes.add(_wake_time(next_due))
            else:
                fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
                _log_failed_on_commit(delivery, number, outcome, why="no retries left")
                # F() so concurrent deliveries to one endpoint each count; then disable once at the threshold.
                Webhook.objects.filter(pk=webhook.pk).update(
                    consecutive_failures=F("consecutive_failures") + 1
                )
                _disable(
                    webhook.pk,
                    now,
                    f"{FAILURES_BEFORE_DISABLE} consecutive deliveries failed.",
                    consecutive_failures__gte=FAILURES_BEFORE_DISABLE,
                )
                streak_may_be_set = True
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        flush_successes()
        for wake_at in sorted(retry_wakes):
            transaction.on_commit(
                lambda wake_at=wake_at: webhook_endpoints_wake(
                    webhook_ids=[webhook.pk], countdown=_countdown_to(wake_at)
                )
            )
    return attempts


def _wake_time(due: datetime) -> datetime:
    """`due` rounded up to the wake-up grid: never before the delivery is due, at most one grid step later."""
    grid = WAKE_GRANULARITY_SECONDS
    return datetime.fromtimestamp(math.ceil(due.timestamp() / grid) * grid, tz=UTC)


def _countdown_to(wake_at: datetime) -> float:
    # Measured when the wake-up is queued (after the commit), not when the outcomes were judged: the
    # commit's time is not added to the delay. Never 0, which would make it a coalesced immediate wake-up.
    return max(0.01, (wake_at - timezone.now()).total_seconds())


def _log_failed_on_commit(delivery: WebhookDelivery, attempts: int, outcome: AttemptOutcome, *, why: str):
    """One warning line per delivery that failed for good, once that is committed: the ids and the last
    status code only (never the endpoint's URL, its answer or the payload, which are the partner's)."""
    last = f"HTTP {outcome.status_code}" if outcome.status_code is not None else "no response"
    fields = {
        "delivery_id": delivery.pk,
        "event_id": delivery.event_id,
        "webhook_id": delivery.webhook_id,
        "attempts": attempts,
        "last_status": outcome.status_code,
    }
    transaction.on_commit(
        lambda: logger.warning(
            "Webhook delivery %s of event %s to endpoint %s failed after %d attempts (%s; last: %s)",
            delivery.pk,
            delivery.event_id,
            delivery.webhook_id,
            attempts,
            why,
            last,
            extra=fields,
        )
    )


def _count_attempts(results: list[tuple[WebhookDelivery, AttemptOutcome, datetime]]) -> None:
    for delivery, outcome, ended_at in results:
        if outcome.succeeded:
            lag = (ended_at - delivery.event.created_at).total_seconds()
            metrics.webhook_attempt_observed(outcome="success", lag_seconds=lag)
        elif outcome.status_code == 410:
            metrics.webhook_attempt_observed(outcome="gone")
        elif outcome.status_code is not None:
            metrics.webhook_attempt_observed(outcome="http_error")
        else:
            metrics.webhook_attempt_observed(outcome="network_error")


def _disable(webhook_id: str, now: datetime, reason: str, **only_if) -> None:
    """Disable an active endpoint (if it also matches the `only_if` lookups), say why, and announce it.

    Conditional on is_active, so of concurrent chunks failing one endpoint exactly one disables it, and
    only that one announces it (event and email, inside the caller's transaction)."""
    disabled = Webhook.objects.filter(pk=webhook_id, is_active=True, **only_if).update(
        is_active=False, disabled_at=now, disabled_reason=reason, updated_at=now
    )
    if disabled:
        webhook_disabled_announce(webhook_id=webhook_id)
