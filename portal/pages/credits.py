"""Credits: the balance of the organization the member is acting as, its ledger filtered as the API filters
it (GET /v1/account/ledger: type, from, to) and paged by cursor, a CSV export of the filtered ledger, and the
low-balance threshold — set by manage_billing through the organization PATCH's serializer and service."""

from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_POST

from api.errors import ApiError
from organizations import ledger_export
from organizations.models import CreditLedgerEntry, credits_number
from organizations.roles import Permission, update_permissions
from organizations.serializers import STAFF_ACTOR, CreditLedgerEntrySerializer, OrganizationSettingsSerializer
from organizations.services import organization_update
from portal.access import portal_page
from portal.actions import perform, validated
from portal.filtering import filter_problems, older_query
from portal.paging import page_after
from portal.selectors import organization_ledger_filtered

PAGE_SIZE = 50
FILTERS = ("type", "from", "to")


def _ledger(request):
    """(the filtered ledger or None, what is wrong with the filters or "")."""
    params = {name: request.GET[name] for name in FILTERS if request.GET.get(name)}
    try:
        return organization_ledger_filtered(organization=request.portal.acting, params=params), ""
    except ApiError as refusal:
        return None, filter_problems(refusal.details or {"filters": [refusal.message]})


@portal_page
def credits_page(request):
    portal = request.portal
    entries, problem = _ledger(request)
    page = page_after(entries, request.GET.get("after"), size=PAGE_SIZE) if entries is not None else None
    return TemplateResponse(
        request,
        "portal/credits.html",
        {
            "title": "Credits",
            "filters": {name: request.GET.get(name, "") for name in FILTERS},
            "kinds": CreditLedgerEntry.Kind.values,
            "problem": problem,
            "page": page,
            "rows": CreditLedgerEntrySerializer(page.rows, many=True).data if page else [],
            "older": older_query(request, page.next_cursor) if page and page.next_cursor else "",
            "newest": older_query(request, None),
            "export": older_query(request, None),
            # The threshold is the live organization's setting; its sandbox follows it (organization_update).
            "threshold": portal.organization.low_balance_threshold,
        },
        status=400 if problem else 200,
    )


@portal_page
def credits_export(request):
    entries, problem = _ledger(request)
    if entries is None:
        return TemplateResponse(
            request, "portal/credits.html", {"title": "Credits", "problem": problem}, status=400
        )
    # Streamed in chunks like the staff console's export: a ledger of millions of rows holds one chunk.
    label = "-test" if request.portal.mode == "test" else ""
    return ledger_export.ledger_csv_response(entries, staff_as=STAFF_ACTOR, label=label)


@require_POST
@portal_page(permission=Permission.MANAGE_BILLING)
def threshold_set(request):
    data = validated(
        request, OrganizationSettingsSerializer, {"lowBalanceThreshold": request.POST.get("threshold", "")}
    )
    if data is not None:
        changes = {"settings": data}
        for permission in update_permissions(changes):  # what the PATCH would ask of this change
            request.portal.require(permission)
        perform(
            request,
            lambda: organization_update(organization=request.portal.organization, data=changes),
            done=f"Low-balance threshold set to {credits_number(data['lowBalanceThreshold'])} credits.",
        )
    return redirect("portal:credits")


urlpatterns = [
    path("credits/", credits_page, name="credits"),
    path("credits/export.csv", credits_export, name="credits-export"),
    path("credits/threshold", threshold_set, name="credits-threshold"),
]
