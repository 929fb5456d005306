"""Customers and cart try-on sessions, read-only and newest first, paged by cursor: what the API answers of
them (its serializers, so images are the same expiring signed URLs, never storage keys), for the
organization the member is acting as."""

from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from customers.selectors import customer_list
from customers.serializers import CustomerSerializer
from infrastructure.storage import storage_signed_url
from portal.access import portal_page
from portal.filtering import older_query
from portal.paging import page_after
from tryons import selectors as tryon_selectors
from tryons.models import CartTryOnSession
from tryons.serializers import CartTryOnSessionSerializer

PAGE_SIZE = 50
ID_MAX_LENGTH = 100


@portal_page
def customers_page(request):
    page = page_after(
        customer_list(organization_id=request.portal.acting.pk), request.GET.get("after"), size=PAGE_SIZE
    )
    return TemplateResponse(
        request,
        "portal/customers.html",
        {
            "title": "Customers",
            "page": page,
            "rows": CustomerSerializer(page.rows, many=True).data,
            "older": older_query(request, page.next_cursor) if page.next_cursor else "",
            "newest": older_query(request, None),
        },
    )


@portal_page
def sessions_page(request):
    status = request.GET.get("status") or None
    statuses = CartTryOnSession.Status.values
    problem = ""
    page = None
    if status is not None and status not in statuses:
        # As the API's `status` parameter refuses it (api.choice_parameters).
        problem = f"Not shown. status: Must be one of {', '.join(statuses)}."
    else:
        sessions = tryon_selectors.cart_session_list(organization_id=request.portal.acting.pk, status=status)
        page = page_after(sessions, request.GET.get("after"), size=PAGE_SIZE)
    return TemplateResponse(
        request,
        "portal/sessions.html",
        {
            "title": "Cart try-on sessions",
            "statuses": statuses,
            "status": request.GET.get("status", ""),
            "problem": problem,
            "page": page,
            "older": older_query(request, page.next_cursor) if page and page.next_cursor else "",
            "newest": older_query(request, None),
        },
        status=400 if problem else 200,
    )


@portal_page
def session_page(request, session_id: str):
    if len(session_id) > ID_MAX_LENGTH or not session_id.isprintable():
        raise Http404
    session = tryon_selectors.cart_session_get(
        organization_id=request.portal.acting.pk, session_id=session_id
    )
    data = CartTryOnSessionSerializer(session).data
    # The photo is erased with its customer; while it exists, it is shown through a signed URL too.
    photo_url = storage_signed_url(session.photo_key) if session.photo_key and session.customer_id else None
    return TemplateResponse(
        request,
        "portal/sessions_detail.html",
        {"title": f"Cart try-on {session.pk}", "session": data, "photo_url": photo_url},
    )


urlpatterns = [
    path("customers/", customers_page, name="customers"),
    path("sessions/", sessions_page, name="sessions"),
    path("sessions/<str:session_id>/", session_page, name="session"),
]
