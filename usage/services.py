"""Request log retention: partitions made ahead, old days dropped, old rollups deleted."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from usage import partitions
from usage import settings as usage_settings
from usage.models import CreditRollup, RequestLogEntry, UsageRollup

DELETE_CHUNK = 10_000


def _delete_in_chunks(queryset) -> int:
    # In chunks: one huge DELETE would hold locks and bloat the WAL while partners keep writing.
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:DELETE_CHUNK])
        if not ids:
            return deleted
        count, _ = queryset.model.objects.filter(pk__in=ids).delete()
        deleted += count


def request_log_maintain(*, now: datetime | None = None) -> dict:
    """Make the coming days' partitions, drop the request log beyond API_USAGE_RETENTION_DAYS and rollups
    beyond USAGE_ROLLUP_RETENTION_DAYS. Idempotent; run hourly by beat (`apikeys.prune_usage`).

    On PostgreSQL a day is dropped once all of it is older than the retention, so entries live between
    the retention and one day more; elsewhere rows are deleted to the second.
    """
    now = now or timezone.now()
    today = now.date()
    created = partitions.partitions_ensure(
        today + timedelta(days=offset) for offset in range(usage_settings.PARTITIONS_AHEAD_DAYS + 1)
    )
    cutoff = now - timedelta(days=settings.API_USAGE_RETENTION_DAYS)
    if partitions.is_partitioned():
        dropped = partitions.partitions_drop_before(cutoff.date())
        deleted = 0
    else:
        dropped = []
        deleted = _delete_in_chunks(RequestLogEntry.objects.filter(created_at__lt=cutoff))
    rollup_cutoff = now - timedelta(days=usage_settings.ROLLUP_RETENTION_DAYS)
    rollups = _delete_in_chunks(UsageRollup.objects.filter(start__lt=rollup_cutoff))
    rollups += _delete_in_chunks(CreditRollup.objects.filter(start__lt=rollup_cutoff))
    return {
        "partitionsCreated": created,
        "partitionsDropped": dropped,
        "entriesDeleted": deleted,
        "rollupsDeleted": rollups,
    }
