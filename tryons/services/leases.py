"""Which rows a run may take, and taking them: one conditional UPDATE, so two runs never own one row."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When

from tryons.heartbeats import lease_new
from tryons.models import CartTryOnSession


def unsettled() -> Q:
    # A cancelled session still lets its interrupted item finish; its queued items are already cancelled.
    return Q(status__in=CartTryOnSession.ACTIVE) | Q(
        status=CartTryOnSession.Status.CANCELLED, completed_at__isnull=True
    )


def lease_claim(rows, *, now: datetime) -> str:
    """Claim `rows` (one session or single try-on, filtered to the states a run may take) for a new run.

    Returns the run's lease token, or "" when a live run owns the row. Claimable: nobody owns it (queued, or
    handed over by the sweeper, or left awaiting callbacks), or its owner's heartbeat is older than
    TRYON_HEARTBEAT_TIMEOUT_SECONDS (a dead worker whose message Redis redelivered before the sweeper looked).
    One conditional UPDATE: of two runs racing for a row exactly one wins, in PostgreSQL as in SQLite.
    """
    token = lease_new()
    stale = now - timedelta(seconds=settings.TRYON_HEARTBEAT_TIMEOUT_SECONDS)
    queued = Q(status="queued")  # the same word on sessions and try-ons
    claimed = rows.filter(Q(lease="") | Q(heartbeat_at__lt=stale)).update(
        status=Case(When(queued, then=Value("processing")), default=F("status")),
        started_at=Case(When(queued, then=Value(now)), default=F("started_at")),
        lease=token,
        heartbeat_at=now,
    )
    return token if claimed else ""
