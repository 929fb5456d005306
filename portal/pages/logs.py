"""The request log: the API's filters (status or class, key, route, from/to) read by the API's own rules,
paged by the entries' `log_…` ids as the API pages it, and one request in detail (by that id or the
X-Request-Id a response carried) — always the log of the organization the member is acting as."""

from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from api.errors import ApiError
from api.request_context import REQUEST_ID_MAX_LENGTH
from apikeys.selectors import organization_api_keys
from portal.access import portal_page
from portal.filtering import filter_problems, older_query
from portal.selectors import request_log_page
from usage import selectors as usage_selectors
from usage.serializers import RequestLogEntrySerializer, UsageQuerySerializer

PAGE_SIZE = 50
FILTERS = ("status", "keyId", "route", "from", "to")


def _filters(request) -> tuple[dict, str]:
    """The list's filters as the API reads them, and what is wrong with them ("" when nothing)."""
    params = request.GET
    shown = {name: params.get(name, "") for name in FILTERS}
    status = params.get("status") or None
    problems = {}
    if status and usage_selectors.status_filter(status) is None:
        problems["status"] = ["A status code (e.g. 404) or a class (e.g. 4xx)."]
    times = UsageQuerySerializer(
        data={name: params[name] for name in ("keyId", "from", "to") if params.get(name)}
    )
    try:
        if not times.is_valid():
            problems.update(times.errors)
    except ApiError as refusal:  # the date reading raises the API's own 400
        problems.update(refusal.details or {"from": [refusal.message]})
    route = params.get("route") or None
    if route and (len(route) > 200 or not route.isprintable()):
        problems["route"] = ["A route template, e.g. /api/v1/customers/{externalId}."]
    if problems:
        return shown, filter_problems(problems)
    values = times.validated_data
    return {
        "status": status,
        "api_key_id": values.get("keyId") or None,
        "route": route,
        "start": values.get("from"),
        "end": values.get("to"),
        "shown": shown,
    }, ""


@portal_page
def log_list(request):
    wanted = request.GET.get("id", "").strip()
    if wanted:  # "Find a request": its page, or the 404 page for an id not in this log
        return redirect("portal:log", wanted) if "/" not in wanted else _not_found()
    acting = request.portal.acting
    filters, problem = _filters(request)
    page = None
    if not problem:
        shown = filters.pop("shown")
        entries = usage_selectors.request_log_list(organization_id=acting.pk, **filters)
        page = request_log_page(entries=entries, after=request.GET.get("after"), size=PAGE_SIZE)
        filters = shown
    keys = organization_api_keys(organization=request.portal.organization, mode=request.portal.mode)
    return TemplateResponse(
        request,
        "portal/logs.html",
        {
            "title": "Request log",
            "filters": filters,
            "problem": problem,
            "page": page,
            "rows": [(entry, usage_selectors.log_entry_id(entry)) for entry in page.rows] if page else [],
            "older": older_query(request, page.next_cursor) if page and page.next_cursor else "",
            "newest": older_query(request, None),
            "keys": list(keys),
        },
        status=400 if problem else 200,
    )


def _not_found():
    raise Http404


@portal_page
def log_entry(request, request_id: str):
    # What no request id can be is not looked up (the API keeps ids of at most this length, as sent).
    if len(request_id) > REQUEST_ID_MAX_LENGTH or not request_id.isprintable():
        raise Http404
    entry = usage_selectors.request_log_entry(organization_id=request.portal.acting.pk, request_id=request_id)
    return TemplateResponse(
        request,
        "portal/logs_entry.html",
        {"title": f"Request {entry.request_id}", "entry": RequestLogEntrySerializer(entry).data},
    )


urlpatterns = [
    path("logs/", log_list, name="logs"),
    path("logs/<str:request_id>/", log_entry, name="log"),
]
