"""The staff console's own pages, inside the Django admin (its login, permissions, look and history):
the billing dashboard, the support overview of one organization, and the search by any id a partner quotes.
"""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from console import search, selectors
from infrastructure import charts
from organizations import selectors as ledger
from tryons import selectors as tryon_selectors

PERIODS = (30, 90)


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _page(request, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(
        request, template, {**admin.site.each_context(request), "title": title, **context}
    )


def _daily_points(series: list[dict], field: str) -> list[tuple[str, object]]:
    return [(row["day"].strftime("%b %d"), row[field]) for row in series]


def billing_dashboard(request):
    _require(request, "organizations.view_creditledgerentry")
    days = int(request.GET.get("days", 30)) if request.GET.get("days") in {"30", "90"} else 30
    series = ledger.credits_daily(days=days)
    sold = sum(row["sold"] for row in series)
    consumed = sum(row["consumed"] for row in series)
    return _page(
        request,
        "admin/console/billing_dashboard.html",
        "Billing dashboard",
        days=days,
        periods=PERIODS,
        sold=sold,
        consumed=consumed,
        sold_chart=charts.bar_chart(
            _daily_points(series, "sold"), title=f"Credits sold per day, last {days} days", colour="#417690"
        ),
        consumed_chart=charts.bar_chart(
            _daily_points(series, "consumed"),
            title=f"Credits consumed per day, last {days} days",
            colour="#ba2121",
        ),
        low=ledger.organizations_low_on_credits()[:50],
        consumers=ledger.biggest_consumers(days=days),
        top_ups=ledger.recent_top_ups(limit=15),
        reuse=tryon_selectors.reuse_savings(days=days),
        can_add_credits=request.user.has_perm("organizations.add_credits"),
    )


def organization_overview(request, organization_id: str):
    _require(request, "organizations.view_organization")
    organization = get_object_or_404(ledger.organizations_with_threshold(), pk=organization_id)
    series = ledger.credits_daily(days=30, organization_id=organization.pk)
    keys = selectors.keys_with_usage(organization=organization)
    for row in keys:
        row["sparkline"] = charts.sparkline(
            row["daily"], title=f"Requests per day, last {selectors.SPARKLINE_DAYS} days"
        )
        row["requests"] = sum(row["daily"])
    return _page(
        request,
        "admin/console/organization_overview.html",
        f"{organization.display_name} — overview",
        organization=organization,
        change_url=reverse("admin:organizations_organization_change", args=[quote(organization.pk)]),
        consumed_30=sum(row["consumed"] for row in series),
        consumed_chart=charts.bar_chart(
            _daily_points(series, "consumed"),
            title="Credits consumed per day, last 30 days",
            colour="#ba2121",
        ),
        keys=keys,
        sessions_by_status=selectors.sessions_by_status(organization=organization),
        sessions=selectors.recent_sessions(organization=organization),
        webhooks=selectors.webhooks_with_failures(organization=organization),
        errors=selectors.last_errors(organization=organization),
        can_add_credits=request.user.has_perm("organizations.add_credits"),
    )


def search_view(request):
    """Find the row behind any id a partner quotes; one hit opens it, otherwise the page says why.

    The box posts its query: a partner may paste a whole API key, which must not end up in a URL (access
    logs, browser history). Links may still use ?q= for ids.
    """
    if not request.user.is_staff:
        raise PermissionDenied
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()[:200]
    result = search.find(query, user=request.user) if query else None
    if result is not None and result.url:
        return HttpResponseRedirect(result.url)
    return _page(request, "admin/console/search.html", "Search by id", query=query, result=result)
