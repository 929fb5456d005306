"""Reads of the ledger for the staff console: daily credit flows, who consumes most, who is running low."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from organizations.models import DEFAULT_ORGANIZATION_SETTINGS, CreditLedgerEntry, Organization

ZERO = Decimal("0.00")
_CREDITS = DecimalField(max_digits=14, decimal_places=2)
_TOP_UP = Q(kind=CreditLedgerEntry.Kind.TOP_UP)
# Consumption is what partners spent: charges (negative amounts) minus what was refunded.
_CONSUMED = Q(kind__in=[CreditLedgerEntry.Kind.CHARGE, CreditLedgerEntry.Kind.REFUND])
# The business figures are live money: test-mode sandboxes (play credits) are left out of every one.
_LIVE_ENTRY = Q(organization__sandbox_of__isnull=True)


def organizations_with_threshold() -> QuerySet[Organization]:
    """Organizations annotated with their effective `threshold` (the setting, or its default)."""
    default = Value(Decimal(DEFAULT_ORGANIZATION_SETTINGS["lowBalanceThreshold"]), output_field=_CREDITS)
    stored = Cast(KeyTextTransform("lowBalanceThreshold", "settings"), _CREDITS)
    return Organization.objects.filter(sandbox_of__isnull=True).annotate(threshold=Coalesce(stored, default))


def organizations_low_on_credits() -> QuerySet[Organization]:
    """Organizations at or below their lowBalanceThreshold, lowest balance first."""
    return organizations_with_threshold().filter(credits__lte=F("threshold")).order_by("credits", "name")


def credits_daily(*, days: int, organization_id: str | None = None) -> list[dict]:
    """One row per day for the last `days` days (today included, UTC), oldest first, days without
    activity included: {"day", "sold" (top-ups), "consumed" (charges minus refunds)}."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    entries = CreditLedgerEntry.objects.filter(created_at__date__gte=first)
    entries = entries.filter(Q(organization_id=organization_id) if organization_id else _LIVE_ENTRY)
    rows = (
        entries.annotate(day=TruncDate("created_at"))
        .values("day")
        .order_by("day")
        .annotate(
            sold=Coalesce(Sum("amount", filter=_TOP_UP), ZERO, output_field=_CREDITS),
            consumed=Coalesce(Sum("amount", filter=_CONSUMED), ZERO, output_field=_CREDITS),
        )
    )
    by_day = {_as_date(row["day"]): row for row in rows}
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        series.append(
            {
                "day": day,
                "sold": row["sold"] if row else ZERO,
                # Stored negative (charges take credits); shown as the positive amount consumed.
                "consumed": -row["consumed"] if row else ZERO,
            }
        )
    return series


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def biggest_consumers(*, days: int, limit: int = 10) -> list[dict]:
    """Organizations by credits consumed over the last `days` days: {"organization", "consumed"}."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        CreditLedgerEntry.objects.filter(_CONSUMED, _LIVE_ENTRY, created_at__gte=since)
        .values("organization_id")
        .annotate(net=Sum("amount"))
        .filter(net__lt=0)
        .order_by("net")[:limit]
    )
    organizations = Organization.objects.in_bulk([row["organization_id"] for row in rows])
    return [{"organization": organizations[row["organization_id"]], "consumed": -row["net"]} for row in rows]


def recent_top_ups(*, limit: int = 10) -> QuerySet[CreditLedgerEntry]:
    return (
        CreditLedgerEntry.objects.filter(_TOP_UP, _LIVE_ENTRY)
        .select_related("organization", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


def organization_ledger(*, organization: Organization) -> QuerySet:
    """The organization's credit ledger with who acted, in the model's order (newest first)."""
    return organization.ledger_entries.select_related("actor")


def sandbox_live_id(*, organization_id: str) -> str | None:
    """The live organization a sandbox belongs to; None for a live organization (or none at all)."""
    return Organization.objects.filter(pk=organization_id).values_list("sandbox_of_id", flat=True).first()
