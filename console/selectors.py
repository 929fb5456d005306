"""What the support overview of one organization shows, read across the apps in a few queries each."""

from datetime import timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from apikeys.models import ApiKey
from organizations.models import Organization
from tryons.models import CartTryOnSession, TryOn
from usage.models import UsageRollup
from webhooks.models import Webhook, WebhookDelivery

SPARKLINE_DAYS = 14


def keys_with_usage(*, organization: Organization) -> list[dict]:
    """The organization's keys, newest first, each with requests per day over the last two weeks."""
    keys = list(ApiKey.objects.filter(organization=organization).order_by("-created_at")[:50])
    first = timezone.now().date() - timedelta(days=SPARKLINE_DAYS - 1)
    # The daily rollups, not the request log: a key's two weeks are a few dozen rows however busy it is.
    counts = (
        UsageRollup.objects.filter(
            period=UsageRollup.Period.DAY, api_key_id__in=[key.pk for key in keys], start__date__gte=first
        )
        .values("api_key_id", "start")
        .annotate(requests=Sum("requests"))
        .order_by()
    )
    per_key: dict[str, dict] = {}
    for row in counts:
        per_key.setdefault(row["api_key_id"], {})[timezone.localdate(row["start"])] = row["requests"]
    days = [first + timedelta(days=i) for i in range(SPARKLINE_DAYS)]
    return [{"key": key, "daily": [per_key.get(key.pk, {}).get(day, 0) for day in days]} for key in keys]


def sessions_by_status(*, organization: Organization, days: int = 30) -> dict[str, int]:
    since = timezone.now() - timedelta(days=days)
    rows = (
        CartTryOnSession.objects.filter(organization=organization, created_at__gte=since)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["status"]: row["n"] for row in rows}
    return {status: counts.get(status, 0) for status in CartTryOnSession.Status.values}


def recent_sessions(*, organization: Organization, limit: int = 10):
    return CartTryOnSession.objects.filter(organization=organization).order_by("-created_at")[:limit]


def webhooks_with_failures(*, organization: Organization, days: int = 30) -> list[Webhook]:
    since = timezone.now() - timedelta(days=days)
    failed = Count("deliveries", filter=Q(deliveries__status="failed", deliveries__created_at__gte=since))
    return list(
        Webhook.objects.filter(organization=organization)
        .annotate(failed_deliveries=failed)
        .order_by("-created_at")
    )


def last_errors(*, organization: Organization, limit: int = 10) -> list[dict]:
    """The latest failed try-on items and failed webhook deliveries, newest first."""
    tryons = (
        TryOn.objects.filter(organization=organization, status=TryOn.Status.FAILED)
        .order_by("-created_at")
        .values("id", "session_id", "error_code", "error", "created_at")[:limit]
    )
    deliveries = (
        WebhookDelivery.objects.filter(organization=organization, status=WebhookDelivery.Status.FAILED)
        .select_related("webhook", "event")
        .order_by("-created_at")[:limit]
    )
    errors = [
        {
            "at": row["created_at"],
            "kind": "try-on",
            "object_id": row["id"],
            "code": row["error_code"],
            "message": row["error"],
        }
        for row in tryons
    ] + [
        {
            "at": delivery.created_at,
            "kind": "webhook",
            "object_id": delivery.pk,
            "code": f"HTTP {delivery.last_status_code}" if delivery.last_status_code else "no response",
            "message": f"{delivery.event.event} → {delivery.webhook.url}: {delivery.last_error}",
        }
        for delivery in deliveries
    ]
    return sorted(errors, key=lambda e: e["at"], reverse=True)[:limit]
