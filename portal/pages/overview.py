"""The overview (balance, usage, recent sessions and errors) and the session's two choices: which
organization, and live or test mode."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from infrastructure import charts
from organizations.services.sandbox import organization_sandbox
from portal.access import LIVE, MODE_SESSION_KEY, MODES, ORGANIZATION_SESSION_KEY, TEST, portal_page
from portal.selectors import member_organizations
from tryons import selectors as tryon_selectors
from usage import selectors as usage_selectors

RECENT = 8
CHART_DAYS = 14


@portal_page
def overview(request):
    portal = request.portal
    today = usage_selectors.bucket_start(timezone.now(), "day")
    start = today - timedelta(days=CHART_DAYS - 1)
    usage = usage_selectors.usage_summary(
        organization_id=portal.acting.pk, start=start, end=today + timedelta(days=1), granularity="day"
    )
    points = [(point["start"].strftime("%b %d"), point["requests"]) for point in usage["series"]]
    return TemplateResponse(
        request,
        "portal/overview.html",
        {
            "title": "Overview",
            "usage": usage,
            "chart": charts.bar_chart(
                points, title=f"Requests per day, last {CHART_DAYS} days", colour="#3b4fd8"
            ),
            "sessions": tryon_selectors.cart_session_list(organization_id=portal.acting.pk)[:RECENT],
            "errors": _recent_errors(portal.acting.pk),
        },
    )


def _recent_errors(organization_id: str) -> list:
    """The newest 4xx and 5xx answers together (each class read by its own index, newest first)."""
    entries = [
        entry
        for status in ("4xx", "5xx")
        for entry in usage_selectors.request_log_list(organization_id=organization_id, status=status)[:RECENT]
    ]
    return sorted(entries, key=lambda entry: (entry.created_at, entry.pk), reverse=True)[:RECENT]


def _back(request):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/portal/") and "//" not in target else "portal:overview")


@require_POST
@portal_page
def switch_mode(request):
    mode = request.POST.get("mode")
    if mode not in MODES:
        messages.error(request, "Choose live or test mode.")
        return _back(request)
    if mode == TEST:
        organization_sandbox(
            organization=request.portal.organization
        )  # created on first use, as test keys do
    request.session[MODE_SESSION_KEY] = mode
    messages.success(request, "Test mode: the sandbox's data." if mode == TEST else "Live mode.")
    return _back(request)


@require_POST
@portal_page
def switch_organization(request):
    chosen = request.POST.get("organization", "")
    if not any(m.organization_id == chosen for m in member_organizations(user=request.user)):
        messages.error(request, "You are not a member of that organization.")
        return redirect("portal:overview")
    request.session[ORGANIZATION_SESSION_KEY] = chosen
    request.session[MODE_SESSION_KEY] = LIVE
    return redirect("portal:overview")
