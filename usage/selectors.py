"""Reads of usage (from the hourly and daily rollups), of one key's usage, and of the request log (newest
first)."""

import base64
import struct
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from api.errors import ResourceNotFound
from api.numbers import whole_number
from apikeys.models import ApiKey
from organizations.models import CreditLedgerEntry
from usage import settings as usage_settings
from usage.models import CreditRollup, RequestLogEntry, UsageRollup

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GRANULARITIES = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def bucket_start(moment: datetime, granularity: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment


def usage_earliest(granularity: str, *, now: datetime | None = None) -> datetime:
    """The first bucket usage can answer for: the rollups (and CreditRollup) are kept
    USAGE_ROLLUP_RETENTION_DAYS, so an earlier bucket would read as zeros that are not true, and would be
    written only to be deleted by the next prune. Rounded up, so the whole bucket is inside retention."""
    cutoff = (now or timezone.now()) - timedelta(days=usage_settings.ROLLUP_RETENTION_DAYS)
    first = bucket_start(cutoff, granularity)
    return first if first >= cutoff else first + GRANULARITIES[granularity]


def _average(total: int, count: int) -> float:
    return round(total / count, 1) if count else 0.0


# A period this long over is closed: no transaction still in flight can add a ledger entry dated inside it.
CLOSED_AFTER = timedelta(minutes=10)


def _ledger_sums(*, organization_id: str, start: datetime, end: datetime, granularity: str) -> dict:
    """Credits charged and refunded per bucket of [start, end), summed from the ledger."""
    rows = (
        CreditLedgerEntry.objects.filter(
            organization_id=organization_id,
            created_at__gte=start,
            created_at__lt=end,
            kind__in=[CreditLedgerEntry.Kind.CHARGE, CreditLedgerEntry.Kind.REFUND],
        )
        .annotate(bucket=Trunc("created_at", granularity))
        .values("bucket", "kind")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    sums: dict = defaultdict(lambda: {"charged": Decimal("0"), "refunded": Decimal("0")})
    for row in rows:
        field = "charged" if row["kind"] == CreditLedgerEntry.Kind.CHARGE else "refunded"
        sums[row["bucket"]][field] += abs(row["amount"])
    return sums


def _buckets(start: datetime, end: datetime, granularity: str):
    moment = start
    while moment < end:
        yield moment
        moment += GRANULARITIES[granularity]


def _credits_by_bucket(*, organization_id: str, start: datetime, end: datetime, granularity: str) -> dict:
    """Credits charged and refunded per bucket: closed periods from CreditRollup (summed from the ledger the
    first time they are asked for, then kept), the open ones from the ledger."""
    closed_end = min(end, bucket_start(timezone.now() - CLOSED_AFTER, granularity))
    # Only periods inside retention are ever written: a read of an older period (which the views refuse)
    # must not leave rows behind, let alone one per hour back to year 1.
    kept_from = usage_earliest(granularity)
    credits = {
        row.start: {"charged": row.charged, "refunded": row.refunded}
        for row in CreditRollup.objects.filter(
            organization_id=organization_id, period=granularity, start__gte=start, start__lt=closed_end
        )
    }
    missing = [
        bucket for bucket in _buckets(max(start, kept_from), closed_end, granularity) if bucket not in credits
    ]
    if missing:
        last = missing[-1] + GRANULARITIES[granularity]
        sums = _ledger_sums(
            organization_id=organization_id, start=missing[0], end=last, granularity=granularity
        )
        # Zero periods are stored too, so that an idle month is not summed again on every read. Two readers
        # racing here compute the same closed sums; the second insert is ignored.
        CreditRollup.objects.bulk_create(
            [
                CreditRollup(
                    organization_id=organization_id,
                    period=granularity,
                    start=bucket,
                    charged=sums[bucket]["charged"],
                    refunded=sums[bucket]["refunded"],
                )
                for bucket in missing
            ],
            ignore_conflicts=True,
        )
        credits.update({bucket: dict(sums[bucket]) for bucket in missing})
    if start < kept_from:
        credits.update(
            _ledger_sums(
                organization_id=organization_id,
                start=start,
                end=min(kept_from, closed_end),
                granularity=granularity,
            )
        )
    if closed_end < end:
        credits.update(
            _ledger_sums(
                organization_id=organization_id,
                start=max(start, closed_end),
                end=end,
                granularity=granularity,
            )
        )
    return credits


def usage_summary(
    *, organization_id: str, start: datetime, end: datetime, granularity: str, api_key_id: str | None = None
) -> dict:
    """Totals, a zero-filled series, and breakdowns by route, status class and key over [start, end).

    One read of the rollups of the granularity's period (a 30-day daily series reads a few thousand rows
    however many requests were made), plus credits from CreditRollup and the open period's ledger. Counts
    lag live traffic by the usage flush (seconds). Credits are the organization's, whichever key is asked
    for: charges belong to the organization, not to the key that made them.
    """

    rollups = UsageRollup.objects.filter(
        organization_id=organization_id, period=granularity, start__gte=start, start__lt=end
    )
    if api_key_id:
        rollups = rollups.filter(api_key_id=api_key_id)
    # One row per bucket already (the rollup's unique key): read as tuples, no GROUP BY.
    rows = rollups.values_list(
        "start", "api_key_id", "method", "route", "status_code", "requests", "duration_ms_total"
    )
    series: dict = defaultdict(lambda: [0, 0, 0])  # requests, errors, duration total
    routes: dict = defaultdict(lambda: [0, 0, 0])
    keys: dict = defaultdict(lambda: [0, 0])
    status_classes = dict.fromkeys(STATUS_CLASSES, 0)
    totals = [0, 0, 0]
    for bucket, key_id, method, route, status_code, requests, duration in rows.order_by():
        errors = requests if status_code >= 400 else 0
        for counter in (series[bucket], routes[(method, route)], totals):
            counter[0] += requests
            counter[1] += errors
            counter[2] += duration
        keys[key_id][0] += requests
        keys[key_id][1] += errors
        status_class = f"{status_code // 100}xx"
        if status_class in status_classes:
            status_classes[status_class] += requests

    credits = _credits_by_bucket(
        organization_id=organization_id, start=start, end=end, granularity=granularity
    )
    step = GRANULARITIES[granularity]
    points = []
    moment = start
    while moment < end:
        requests, errors, duration = series.get(moment, (0, 0, 0))
        spent = credits.get(moment, {"charged": Decimal("0"), "refunded": Decimal("0")})
        points.append(
            {
                "start": moment,
                "requests": requests,
                "errors": errors,
                "averageDurationMs": _average(duration, requests),
                "creditsCharged": spent["charged"],
                "creditsRefunded": spent["refunded"],
            }
        )
        moment += step
    return {
        "organizationId": organization_id,
        "keyId": api_key_id,
        "granularity": granularity,
        "from": start,
        "to": end,
        "totals": {
            "requests": totals[0],
            "errors": totals[1],
            "averageDurationMs": _average(totals[2], totals[0]),
            "creditsCharged": sum((p["creditsCharged"] for p in points), Decimal("0")),
            "creditsRefunded": sum((p["creditsRefunded"] for p in points), Decimal("0")),
        },
        "series": points,
        "byRoute": [
            {
                "method": method,
                "route": route,
                "requests": requests,
                "errors": errors,
                "averageDurationMs": _average(duration, requests),
            }
            for (method, route), (requests, errors, duration) in sorted(
                routes.items(), key=lambda item: (-item[1][0], item[0][1], item[0][0])
            )
        ],
        "byStatusClass": status_classes,
        "byKey": [
            {"keyId": key_id, "requests": requests, "errors": errors}
            for key_id, (requests, errors) in sorted(keys.items(), key=lambda item: (-item[1][0], item[0]))
        ],
    }


# The request log also takes 1xx, which the usage breakdown leaves out (the API answers none).
LOG_STATUS_CLASSES = frozenset({"1xx", *STATUS_CLASSES})


def status_filter(value: str) -> Q | None:
    """`404` (one status, 100-599) or `4xx` (a class, any case); None for anything else."""
    if value.lower() in LOG_STATUS_CLASSES:
        low = int(value[0]) * 100
        return Q(status_code__gte=low, status_code__lt=low + 100)
    code = whole_number(value)
    return Q(status_code=code) if code is not None and 100 <= code <= 599 else None


def request_log_list(
    *,
    organization_id: str,
    status: str | None = None,
    api_key_id: str | None = None,
    route: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QuerySet:
    """The organization's request log, newest first; each filter has an index in this order. `status` must be
    one that `status_filter` takes."""
    entries = RequestLogEntry.objects.filter(organization_id=organization_id)
    if status:
        entries = entries.filter(status_filter(status))
    if api_key_id:
        entries = entries.filter(api_key_id=api_key_id)
    if route:
        entries = entries.filter(route=route)
    if start:
        entries = entries.filter(created_at__gte=start)
    if end:
        entries = entries.filter(created_at__lt=end)
    return entries.order_by("-created_at", "-id")


LOG_ENTRY_ID_PREFIX = "log_"
_LOG_ENTRY_ID = struct.Struct(">qq")  # microseconds since the epoch (created_at), then the row id


def log_entry_id(entry: RequestLogEntry) -> str:
    """The entry's own id as partners see it (`log_…`): its place in the log's order, (created_at, id),
    which no partner chooses. Opaque by contract; the time lets a lookup read one day's partition."""
    micros = (entry.created_at - _EPOCH) // timedelta(microseconds=1)
    return LOG_ENTRY_ID_PREFIX + base64.urlsafe_b64encode(
        _LOG_ENTRY_ID.pack(micros, entry.pk)
    ).decode().rstrip("=")


def log_entry_lookup(value: str) -> dict | None:
    """Filters naming the entry behind a `log_…` id, or None when `value` is not one."""
    if not value.startswith(LOG_ENTRY_ID_PREFIX) or len(value) != len(LOG_ENTRY_ID_PREFIX) + 22:
        return None
    try:
        micros, pk = _LOG_ENTRY_ID.unpack(base64.urlsafe_b64decode(value[len(LOG_ENTRY_ID_PREFIX) :] + "=="))
        return {"created_at": _EPOCH + timedelta(microseconds=micros), "pk": pk}
    except (ValueError, OverflowError, struct.error):
        return None


def request_id_entries(*, organization_id: str, request_id: str) -> int:
    """How many entries carry `request_id`, counting to 2 at most (one index probe): a retry repeats it."""
    return len(
        RequestLogEntry.objects.filter(organization_id=organization_id, request_id=request_id).values("pk")[
            :2
        ]
    )


def request_log_entry(*, organization_id: str, request_id: str) -> RequestLogEntry:
    """The entry behind a request id the partner got (exactly as sent), or behind an entry's `id`; another
    organization's is a 404."""
    # An entry's own id names it alone; a request id names the latest of its tries (a retry repeats it).
    lookup = log_entry_lookup(request_id) or {"request_id": request_id}
    entry = (
        RequestLogEntry.objects.filter(organization_id=organization_id, **lookup)
        .order_by("-created_at")
        .first()
    )
    if entry is None:
        raise ResourceNotFound(
            f"No request {request_id} in the log (entries appear a few seconds after the request).",
            details={"requestId": request_id},
        )
    return entry


def apikey_usage_summary(*, key: ApiKey, days: int) -> dict:
    """Requests by day, by endpoint and by status class over the last `days` days (today included).

    Read from the hourly rollups (usage app), so it costs the same however busy the key is. Counts what
    has been flushed to the database: in production that lags live traffic by a few seconds.
    """
    today = timezone.now().date()
    first_day = today - timedelta(days=days - 1)
    summary = usage_summary(
        organization_id=key.organization_id,
        api_key_id=key.id,
        start=datetime.combine(first_day, time.min, tzinfo=UTC),
        end=datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC),
        granularity="day",
    )
    return {
        "keyId": key.id,
        "days": days,
        "from": first_day.isoformat(),
        "to": today.isoformat(),
        "totals": {key: summary["totals"][key] for key in ("requests", "errors", "averageDurationMs")},
        "byDay": [
            {
                "date": point["start"].date().isoformat(),
                "requests": point["requests"],
                "errors": point["errors"],
            }
            for point in summary["series"]
        ],
        "byEndpoint": summary["byRoute"],
        "byStatusClass": summary["byStatusClass"],
    }
