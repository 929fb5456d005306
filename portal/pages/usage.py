"""Usage: requests by day (the last 30 days) and by hour (the last 48), and breakdowns by key, route and
status class — read from the usage rollups through the same summary the API answers GET …/usage with, for
the organization the member is acting as."""

from datetime import timedelta

from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apikeys.selectors import organization_api_keys
from infrastructure import charts
from portal.access import portal_page
from usage import selectors as usage_selectors

DAYS = 30
HOURS = 48


def _summary(organization_id: str, granularity: str, buckets: int) -> dict:
    """The last `buckets` buckets of `granularity`, the current one included."""
    step = timedelta(days=1) if granularity == "day" else timedelta(hours=1)
    current = usage_selectors.bucket_start(timezone.now(), granularity)
    return usage_selectors.usage_summary(
        organization_id=organization_id,
        start=current - step * (buckets - 1),
        end=current + step,
        granularity=granularity,
    )


@portal_page
def usage_page(request):
    portal = request.portal
    daily = _summary(portal.acting.pk, "day", DAYS)
    hourly = _summary(portal.acting.pk, "hour", HOURS)
    # Keys are the live organization's, of the mode shown: names for the breakdown's ids.
    names = {key.pk: key.name for key in organization_api_keys(organization=portal.organization)}
    by_key = [{**row, "name": names.get(row["keyId"], "")} for row in daily["byKey"]]
    return TemplateResponse(
        request,
        "portal/usage.html",
        {
            "title": "Usage",
            "daily": daily,
            "hourly": hourly,
            "days": DAYS,
            "hours": HOURS,
            "daily_chart": charts.bar_chart(
                [(point["start"].strftime("%b %d"), point["requests"]) for point in daily["series"]],
                title=f"Requests per day, last {DAYS} days (UTC)",
                colour="#3b4fd8",
            ),
            "hourly_chart": charts.bar_chart(
                [(point["start"].strftime("%d %H:00"), point["requests"]) for point in hourly["series"]],
                title=f"Requests per hour, last {HOURS} hours (UTC)",
                colour="#0e9384",
            ),
            "errors_chart": charts.bar_chart(
                [(point["start"].strftime("%b %d"), point["errors"]) for point in daily["series"]],
                title=f"Errors per day, last {DAYS} days (UTC)",
                colour="#d92d20",
            ),
            "by_key": by_key,
            "by_status": list(daily["byStatusClass"].items()),
        },
    )


urlpatterns = [path("usage/", usage_page, name="usage")]
