"""Reads for the key management API: usage statistics over a window of days."""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from apikeys.models import ApiKey, ApiUsageRecord

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")


def _average(value) -> float:
    return round(float(value or 0), 1)


def apikey_usage_summary(*, key: ApiKey, days: int) -> dict:
    """Requests by day, by endpoint and by status class over the last `days` days (today included).

    Counts what has been flushed to the database: in production that lags live traffic by a few seconds.
    """
    today = timezone.now().date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=UTC)  # a range the (key, time) index can serve
    records = ApiUsageRecord.objects.filter(api_key=key, created_at__gte=since)
    errors = Q(status_code__gte=400)

    totals = records.aggregate(
        requests=Count("id"), errors=Count("id", filter=errors), avg=Avg("duration_ms")
    )

    per_day = {
        row["day"]: row
        for row in records.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(requests=Count("id"), errors=Count("id", filter=errors))
    }
    by_day = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = per_day.get(day, {})
        by_day.append(
            {"date": day.isoformat(), "requests": row.get("requests", 0), "errors": row.get("errors", 0)}
        )

    by_endpoint = [
        {
            "method": row["method"],
            "route": row["route"],
            "requests": row["requests"],
            "errors": row["errors"],
            "averageDurationMs": _average(row["avg"]),
        }
        for row in records.values("method", "route")
        .annotate(requests=Count("id"), errors=Count("id", filter=errors), avg=Avg("duration_ms"))
        .order_by("-requests", "route", "method")
    ]

    by_status_class = dict.fromkeys(STATUS_CLASSES, 0)
    for row in records.values("status_code").annotate(requests=Count("id")):
        status_class = f"{row['status_code'] // 100}xx"
        if status_class in by_status_class:
            by_status_class[status_class] += row["requests"]

    return {
        "keyId": key.id,
        "days": days,
        "from": first_day.isoformat(),
        "to": today.isoformat(),
        "totals": {
            "requests": totals["requests"],
            "errors": totals["errors"],
            "averageDurationMs": _average(totals["avg"]),
        },
        "byDay": by_day,
        "byEndpoint": by_endpoint,
        "byStatusClass": by_status_class,
    }
