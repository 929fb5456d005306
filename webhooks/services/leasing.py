"""Delivery leasing: who may send what to an endpoint, and when.

A chunk is claimed with a conditional UPDATE (on rows locked with SKIP LOCKED where the database has it)
that pushes `next_attempt_at` forward by a lease, so concurrent tasks (a retry, a sweeper wake-up, a
redelivered broker message) never send the same attempt twice; if the worker dies mid-send the lease
expires and the sweeper picks the delivery up again. An endpoint's worker slots (a cache key each) cap
how many callers send to it at once.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from webhooks.models import WebhookDelivery

# A worker holding a delivery for longer than this is presumed dead.
LEASE_MARGIN_SECONDS = 30


def slot_key(webhook_id: str, slot: int) -> str:
    return f"webhooks:slot:{webhook_id}:{slot}"


def slot_acquire(webhook_id: str, ttl: float) -> str | None:
    """Take one of the endpoint's worker slots for at most `ttl` seconds; None when all are taken."""
    # One partner endpoint may occupy at most this many worker slots at once; the rest wait their turn.
    for slot in range(settings.WEBHOOK_ENDPOINT_CONCURRENCY):
        key = slot_key(webhook_id, slot)
        if cache.add(key, 1, ttl):
            return key
    return None


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)


def deliveries_due(webhook_id: str, now: datetime):
    return WebhookDelivery.objects.filter(
        webhook_id=webhook_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )


def deliveries_claim_due(webhook_id: str, now: datetime, limit: int) -> list[str]:
    """Lease up to `limit` due deliveries of one endpoint to this caller, oldest first."""
    lease_until = _lease(now)
    if connection.features.has_select_for_update_skip_locked:
        # Rows another worker is claiming right now are skipped, not waited for; the conditional UPDATE
        # runs on rows this transaction holds locked, so it cannot lose them to anyone.
        with transaction.atomic():
            ids = list(
                deliveries_due(webhook_id, now)
                .select_for_update(skip_locked=True)
                .order_by("next_attempt_at", "created_at")
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                deliveries_due(webhook_id, now).filter(pk__in=ids).update(next_attempt_at=lease_until)
        return ids
    # No row locks (SQLite): one conditional UPDATE per row, each of which only one caller can win.
    candidates = (
        deliveries_due(webhook_id, now).order_by("next_attempt_at", "created_at").values_list("pk", flat=True)
    )
    return [pk for pk in list(candidates[:limit]) if _claim(pk, now)]


def _claim(delivery_id: str, now: datetime) -> bool:
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=_lease(now))
    # Nothing updated: another worker holds it, it is not due yet, or it already finished.
    return claimed == 1


def deliveries_release(delivery_ids: list[str], now: datetime) -> None:
    """Hand claimed but unsent deliveries back, due at once."""
    if delivery_ids:
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING).update(
            next_attempt_at=now
        )


def deliveries_fail_disabled(delivery_ids: list[str], now: datetime) -> None:
    WebhookDelivery.objects.filter(pk__in=delivery_ids, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED,
        next_attempt_at=None,
        last_error="Endpoint is disabled.",
        updated_at=now,
    )
