"""Which rows a run may take, and taking them: one conditional UPDATE, so two runs never own one row."""

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from tryons.heartbeats import lease_new
from tryons.models import CartTryOnSession


def unsettled() -> Q:
    # A cancel ends every unrendered item and the session at once (completed_at set); a session cancelled
    # before that rule (completed_at still null) still lets its interrupted item finish.
    return Q(status__in=CartTryOnSession.ACTIVE) | Q(
        status=CartTryOnSession.Status.CANCELLED, completed_at__isnull=True
    )


# How late a live owner's heartbeat may be (a slow database write) before a redelivered run takes its row.
REDELIVERY_GRACE_SECONDS = 5.0


def lease_claim(rows, *, now: datetime, stale_after: float | None = None) -> str:
    """Claim `rows` (one session or single try-on, filtered to the states a run may take) for a new run.

    Returns the run's lease token, or "" when a live run owns the row. Claimable: nobody owns it (queued, or
    handed over by the sweeper, or left awaiting callbacks), or its owner's heartbeat is older than
    TRYON_HEARTBEAT_TIMEOUT_SECONDS (a dead worker whose message Redis redelivered before the sweeper looked).
    One conditional UPDATE: of two runs racing for a row exactly one wins, in PostgreSQL as in SQLite.
    """
    token = lease_new()
    stale = now - timedelta(seconds=stale_after or settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)
    queued = Q(status="queued")  # the same word on sessions and try-ons
    claimed = rows.filter(Q(lease="") | Q(heartbeat_at__lt=stale)).update(
        status=Case(When(queued, then=Value("processing")), default=F("status")),
        started_at=Case(When(queued, then=Value(now)), default=F("started_at")),
        lease=token,
        heartbeat_at=now,
    )
    return token if claimed else ""


def lease_claim_redelivered(rows, *, sleep=time.sleep) -> str:
    """Claim `rows` for a run whose message the broker redelivered; "" if its owner is alive or it settled.

    RabbitMQ redelivers a consumer's unacknowledged message the moment that consumer's connection closes,
    which is almost always because its worker died (SIGKILL, OOM kill, a lost machine). Waiting for the
    sweeper's TRYON_HEARTBEAT_TIMEOUT_SECONDS would leave the cart stalled for a minute or more, so a
    redelivered run takes the row as soon as its owner misses one beat: once the heartbeat is older than
    TRYON_HEARTBEAT_SECONDS + REDELIVERY_GRACE_SECONDS. An owner that only lost its broker connection keeps
    beating; the heartbeat moving on proves it alive and this run leaves the row to it. The wait is bounded
    by one beat period and holds this worker slot only for it.
    """
    stale_after = settings.TRYON_HEARTBEAT_SECONDS + REDELIVERY_GRACE_SECONDS
    first_seen = None
    while True:
        token = lease_claim(rows, now=timezone.now(), stale_after=stale_after)
        if token:
            return token
        heartbeat = rows.values_list("heartbeat_at", flat=True).first()
        if heartbeat is None or (first_seen is not None and heartbeat != first_seen):
            return ""  # settled meanwhile, or its owner beat again: alive
        first_seen = heartbeat
        due = heartbeat + timedelta(seconds=stale_after) - timezone.now()
        sleep(max(due.total_seconds(), 0.0) + 0.1)
