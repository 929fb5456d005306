"""Writing the request log and its hourly and daily rollups, from the batches usage/buffer.py collects.

usage/buffer.py keeps recording off the request's latency (an in-memory batch per process, a Redis list,
a beat flush); this module is what the flush does with a batch. Entries are inserted in bulk and added to
their hour's and day's rollup buckets in the same transaction, so the rollups never disagree with the log.
"""

import ipaddress
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from api.request_context import REQUEST_ID_MAX_LENGTH
from usage.models import RequestLogEntry, UsageRollup
from usage.partitions import partitions_ensure


def _address(value) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None  # "unknown" (no REMOTE_ADDR): the column holds addresses only


def request_log_store(*, rows: list[tuple], organization_of: dict[str, str]) -> int:
    """Insert request records and add them to the rollups; returns how many were stored.

    `rows` are usage/buffer.py's lines: (key_id, method, route, status_code, duration_ms, at[, request_id,
    error_code, client_address]) — lines pushed before the request log existed have only the first six.
    Records of unknown keys, and records dated outside the retention window (a skewed clock), are dropped.
    Runs inside the caller's transaction; callers serialize (the flush lock), so partition creation and
    the rollup upserts of two batches never interleave.
    """
    now = timezone.now()
    oldest = (now - timedelta(days=settings.API_USAGE_RETENTION_DAYS)).date()
    newest = (now + timedelta(days=1)).date()
    entries = []
    buckets: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        key_id, method, route, status_code, duration_ms, at, request_id, error_code, address = (
            *row,
            "",
            "",
            None,
        )[:9]
        organization_id = organization_of.get(key_id)
        created_at = datetime.fromtimestamp(at, tz=UTC)
        if organization_id is None or not oldest <= created_at.date() <= newest:
            continue
        duration_ms = max(0, int(duration_ms))
        entries.append(
            RequestLogEntry(
                organization_id=organization_id,
                api_key_id=key_id,
                request_id=(request_id or "")[:REQUEST_ID_MAX_LENGTH],
                method=method[:10],
                route=route[:200],
                status_code=status_code,
                error_code=(error_code or "")[:64],
                duration_ms=duration_ms,
                client_address=_address(address),
                created_at=created_at,
            )
        )
        hour = created_at.replace(minute=0, second=0, microsecond=0)
        for period, start in (("hour", hour), ("day", hour.replace(hour=0))):
            bucket = buckets[(organization_id, period, start, key_id, method[:10], route[:200], status_code)]
            bucket[0] += 1
            bucket[1] += duration_ms
    if not entries:
        return 0
    partitions_ensure({entry.created_at.date() for entry in entries})
    RequestLogEntry.objects.bulk_create(entries, batch_size=2000)
    _rollups_add(buckets)
    return len(entries)


# The table name is our own constant, not input. Django's bulk_create(update_conflicts=True) can only
# overwrite a bucket, not add to it.
_ROLLUP_UPSERT = (
    f"INSERT INTO {UsageRollup._meta.db_table} "  # noqa: S608
    "(organization_id, period, start, api_key_id, method, route, status_code, requests, duration_ms_total) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (organization_id, period, start, api_key_id, method, route, status_code) DO UPDATE SET "
    f"requests = {UsageRollup._meta.db_table}.requests + EXCLUDED.requests, "
    f"duration_ms_total = {UsageRollup._meta.db_table}.duration_ms_total + EXCLUDED.duration_ms_total"
)


def _rollups_add(buckets: dict[tuple, list[int]]) -> None:
    # Added in the database (not read-modify-written here), so the embedded mode's concurrent direct
    # writes never lose each other's counts; sorted, so two writers lock buckets in the same order.
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        (organization_id, period, adapt(start), key_id, method, route, status_code, requests, duration)
        for (organization_id, period, start, key_id, method, route, status_code), (
            requests,
            duration,
        ) in sorted(buckets.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_ROLLUP_UPSERT, params)
