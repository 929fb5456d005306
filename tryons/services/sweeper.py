"""The sweeper: hands dead or forgotten work to a new run, and ends work that keeps dying."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from tryons.models import CartTryOnSession, TryOn
from tryons.services import queue
from tryons.services.leases import unsettled
from tryons.services.looks import looks_give_up
from tryons.services.settlement import session_finish, tryon_timeout

logger = logging.getLogger(__name__)

# Dead or forgotten work is re-queued this many times without an item finishing before its unfinished items
# are failed and refunded (a cart that kills every worker it lands on ends).
SWEEP_REQUEUE_LIMIT = 2
# Rows handed over per kind and sweep; the rest wait for the next sweep.
SWEEP_BATCH = 200


def tryon_sweep_stuck(*, now: datetime | None = None) -> dict[str, int]:
    """Hand dead or forgotten work to a new run; run by beat every TRYON_SWEEP_INTERVAL_SECONDS.

    Dead: a run owns it (a lease) but its heartbeat is older than TRYON_HEARTBEAT_TIMEOUT_SECONDS — the worker
    was killed. Forgotten: nobody owns it and nothing touched it for TRYON_STUCK_AFTER_SECONDS — a lost
    message, a callback that never came. Either is re-queued without a lease, so the next run to arrive claims
    it (`lease_claim`); item state makes that safe: finished items are not rendered again, nothing is charged
    again. After SWEEP_REQUEUE_LIMIT hand-overs without an item finishing, unfinished items fail and are
    refunded, and the session settles. Each hand-over is a conditional UPDATE on the heartbeat and lease
    seen, so two sweepers never act on one session.
    """
    now = now or timezone.now()
    dead = ~Q(lease="") & Q(
        heartbeat_at__lt=now - timedelta(seconds=settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)
    )
    forgotten = Q(lease="", heartbeat_at__lt=now - timedelta(seconds=settings.TRYON_STUCK_AFTER_SECONDS))
    report = {"requeued": 0, "failed": 0}
    _sweep(
        CartTryOnSession.objects.filter(unsettled(), dead | forgotten),
        task="tryons.process_cart_session",
        give_up=lambda session_id: _session_give_up(session_id, now=now),
        now=now,
        report=report,
    )
    _sweep(
        TryOn.objects.filter(
            dead | forgotten, session__isnull=True, status__in=[TryOn.Status.QUEUED, TryOn.Status.PROCESSING]
        ),
        task="tryons.process_tryon",
        give_up=lambda tryon_id: tryon_timeout(TryOn.objects.get(pk=tryon_id)),
        now=now,
        report=report,
    )
    return report


def _sweep(rows, *, task: str, give_up: Callable[[str], None], now: datetime, report: dict) -> None:
    """The one hand-over rule, for sessions and single try-ons alike (both carry lease and sweep_count)."""
    model = rows.model
    for object_id, heartbeat, lease, sweeps in rows.values_list("id", "heartbeat_at", "lease", "sweep_count")[
        :SWEEP_BATCH
    ]:
        claimed = model.objects.filter(pk=object_id, heartbeat_at=heartbeat, lease=lease).update(
            heartbeat_at=now, lease="", sweep_count=F("sweep_count") + 1
        )
        if not claimed:
            continue
        if sweeps < SWEEP_REQUEUE_LIMIT:
            if lease:
                logger.warning("%s: its worker stopped beating; resuming it", object_id)
            queue.enqueue(task, object_id)
            report["requeued"] += 1
        else:
            give_up(object_id)
            report["failed"] += 1


def _session_give_up(session_id: str, *, now: datetime) -> None:
    CartTryOnSession.objects.filter(pk=session_id, status=CartTryOnSession.Status.QUEUED).update(
        status=CartTryOnSession.Status.PROCESSING, started_at=now
    )
    for tryon in TryOn.objects.filter(session_id=session_id).exclude(status__in=TryOn.FINISHED):
        tryon_timeout(tryon)
    looks_give_up(session_id=session_id)
    session_finish(session_id=session_id)
