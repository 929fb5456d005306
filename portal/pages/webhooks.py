"""Webhook endpoints in the portal, of the organization being viewed (the sandbox's in test mode, as a test
key's are): create, edit, test, rotate the secret, re-enable, delete; the delivery log with each attempt,
redelivery and recovery since a time. Every form goes through the API's serializers and services.

A signing secret is shown in the one response that answers the create (or rotate) POST, as the API shows it
once; it is sent with no-store and never put in the session.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers

from api.events import event_names, event_types
from api.timestamps import timestamp_text
from organizations.roles import Permission
from portal.access import portal_page
from portal.actions import perform, validated
from portal.paging import Page, page_after
from webhooks import selectors, services
from webhooks.models import Webhook, WebhookDelivery
from webhooks.serializers import WebhookCreateSerializer, WebhookRecoverSerializer, WebhookUpdateSerializer

ID_MAX_LENGTH = 64
DELIVERIES_PAGE = 50
# Bodies longer than this are cut for display: a page must stay readable and light whatever a server sent.
BODY_DISPLAY_LIMIT = 10_000


def _id(value: str) -> str:
    # An id nothing can have (too long, NUL or other control characters) never reaches the database.
    if len(value) > ID_MAX_LENGTH or not value.isprintable():
        raise Http404
    return value


def _webhook(request, webhook_id: str) -> Webhook:
    """One endpoint of the organization being viewed; another's (or the other mode's) is the 404 page."""
    return selectors.webhook_get(organization_id=request.portal.acting.pk, webhook_id=_id(webhook_id))


def _subscribable():
    return [event for event in event_types() if event.subscribable]


def _endpoint_fields(post) -> dict:
    return {
        "url": post.get("url", ""),
        "events": post.getlist("events"),
        "description": post.get("description", ""),
    }


def _shown(body: str) -> dict:
    """A body for a <pre> (the template escapes it), cut at BODY_DISPLAY_LIMIT characters."""
    body = body or ""
    return {"text": body[:BODY_DISPLAY_LIMIT], "cut": len(body) > BODY_DISPLAY_LIMIT, "length": len(body)}


def _secret_page(request, webhook: Webhook, *, rotated: bool):
    response = TemplateResponse(
        request,
        "portal/webhooks_secret.html",
        {"title": "Signing secret", "webhook": webhook, "rotated": rotated},
    )
    add_never_cache_headers(response)  # no-store: the secret must not rest in any cache
    return response


@portal_page
def webhooks_page(request):
    webhooks = selectors.webhook_list(organization_id=request.portal.acting.pk)
    return TemplateResponse(
        request,
        "portal/webhooks.html",
        {
            "title": "Webhooks",
            "page": page_after(webhooks, request.GET.get("after")),
            "events": _subscribable(),
        },
    )


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_create(request):
    if request.method != "POST":
        return redirect("portal:webhooks")
    data = validated(request, WebhookCreateSerializer, _endpoint_fields(request.POST))
    webhook = data is not None and perform(
        request,
        lambda: services.webhook_create(
            organization_id=request.portal.acting.pk,
            url=data["url"],
            events=data["events"],
            description=data["description"],
        ),
        done="Webhook endpoint created.",
    )
    if not webhook:
        return redirect("portal:webhooks")
    return _secret_page(request, webhook, rotated=False)


def _delivery_filters(request) -> tuple[dict, str]:
    """The log's filters as the API takes them, and what is wrong with them (the API's 400) if anything."""
    filters, problems = {}, []
    status = request.GET.get("status", "")
    if status:
        if status in WebhookDelivery.Status.values:
            filters["status"] = status
        else:
            problems.append(f"status: Must be one of {', '.join(WebhookDelivery.Status.values)}.")
    event = request.GET.get("event", "")
    if event:
        if event in event_names():
            filters["event"] = event
        else:
            problems.append(f"event: Must be one of {', '.join(event_names())}.")
    return filters, " ".join(problems)


@portal_page
def webhook_detail(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    filters, problem = _delivery_filters(request)
    after = request.GET.get("after", "")
    deliveries = (
        Page(rows=[], next_cursor=None, is_first=True)
        if problem
        else page_after(
            selectors.webhook_deliveries(webhook=webhook, **filters),
            after if after.isprintable() else None,
            size=DELIVERIES_PAGE,
        )
    )
    return TemplateResponse(
        request,
        "portal/webhooks_detail.html",
        {
            "title": f"Webhook {webhook.url}",
            "webhook": webhook,
            "events": _subscribable(),
            "event_names": event_names(),
            "statuses": WebhookDelivery.Status.values,
            "filters": filters,
            "problem": problem,
            "deliveries": deliveries,
            "older": urlencode({**filters, "after": deliveries.next_cursor or ""}),
            "newest": urlencode(filters),
        },
        status=400 if problem else 200,
    )


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_edit(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        data = validated(request, WebhookUpdateSerializer, _endpoint_fields(request.POST))
        if data is not None:
            perform(
                request,
                lambda: services.webhook_update(
                    webhook=webhook, url=data["url"], events=data["events"], description=data["description"]
                ),
                done="Webhook endpoint saved.",
            )
    return redirect("portal:webhook", webhook_id=webhook.pk)


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_test(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        attempt = perform(
            request, lambda: services.webhook_test_send(webhook=webhook), done="Test event sent."
        )
        if attempt:
            outcome = (
                f"HTTP {attempt.status_code}" if attempt.status_code is not None else "no answer"
            ) + f" in {attempt.duration_ms} ms"
            if attempt.succeeded:
                messages.success(request, f"Delivered: {outcome}.")
            else:
                messages.error(request, f"Not delivered: {attempt.error or outcome} ({outcome}).")
    return redirect("portal:webhook", webhook_id=webhook.pk)


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_rotate(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    if request.method != "POST":
        return redirect("portal:webhook", webhook_id=webhook.pk)
    rotated = perform(
        request, lambda: services.webhook_rotate_secret(webhook=webhook), done="Signing secret rotated."
    )
    if not rotated:
        return redirect("portal:webhook", webhook_id=webhook.pk)
    return _secret_page(request, rotated, rotated=True)


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_enable(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        perform(
            request,
            lambda: services.webhook_enable(webhook=webhook),
            done="Webhook endpoint re-enabled; its failure count starts again from zero.",
        )
    return redirect("portal:webhook", webhook_id=webhook.pk)


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_delete(request, webhook_id: str):
    """GET asks for confirmation; POST deletes the endpoint with its delivery log."""
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        if perform(
            request, lambda: services.webhook_delete(webhook=webhook), done="Webhook endpoint deleted."
        ):
            return redirect("portal:webhooks")
        return redirect("portal:webhook", webhook_id=webhook.pk)
    return TemplateResponse(
        request, "portal/webhooks_delete.html", {"title": "Delete webhook endpoint", "webhook": webhook}
    )


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def webhook_recover(request, webhook_id: str):
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        data = validated(request, WebhookRecoverSerializer, {"since": request.POST.get("since", "")})
        created = data is not None and perform(
            request,
            lambda: services.webhook_recover(webhook=webhook, since=data["since"]),
            done=f"Looked for deliveries failed since {timestamp_text(data['since'])}.",
        )
        if created is not None and created is not False:
            messages.success(request, f"{len(created)} failed event(s) queued for redelivery.")
    return redirect("portal:webhook", webhook_id=webhook.pk)


@portal_page
def delivery_detail(request, webhook_id: str, delivery_id: str):
    webhook = _webhook(request, webhook_id)
    delivery = selectors.webhook_delivery_get(webhook=webhook, delivery_id=_id(delivery_id))
    return TemplateResponse(
        request,
        "portal/webhooks_delivery.html",
        {
            "title": f"Delivery {delivery.pk}",
            "webhook": webhook,
            "delivery": delivery,
            "request_body": _shown(delivery.event.body),
            "attempts": [
                {"attempt": attempt, "response": _shown(attempt.response_body)}
                for attempt in delivery.attempts.all()
            ],
        },
    )


@portal_page(permission=Permission.MANAGE_WEBHOOKS)
def delivery_redeliver(request, webhook_id: str, delivery_id: str):
    webhook = _webhook(request, webhook_id)
    delivery = selectors.webhook_delivery_get(webhook=webhook, delivery_id=_id(delivery_id))
    if request.method == "POST":
        again = perform(
            request,
            lambda: services.webhook_delivery_redeliver(delivery=delivery),
            done="Event queued for redelivery.",
        )
        if again:
            return redirect("portal:delivery", webhook_id=webhook.pk, delivery_id=again.pk)
    return redirect("portal:delivery", webhook_id=webhook.pk, delivery_id=delivery.pk)


urlpatterns = [
    path("webhooks/", webhooks_page, name="webhooks"),
    path("webhooks/new", webhook_create, name="webhook-create"),
    path("webhooks/<str:webhook_id>/", webhook_detail, name="webhook"),
    path("webhooks/<str:webhook_id>/edit", webhook_edit, name="webhook-edit"),
    path("webhooks/<str:webhook_id>/test", webhook_test, name="webhook-test"),
    path("webhooks/<str:webhook_id>/rotate-secret", webhook_rotate, name="webhook-rotate"),
    path("webhooks/<str:webhook_id>/enable", webhook_enable, name="webhook-enable"),
    path("webhooks/<str:webhook_id>/delete", webhook_delete, name="webhook-delete"),
    path("webhooks/<str:webhook_id>/recover", webhook_recover, name="webhook-recover"),
    path("webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/", delivery_detail, name="delivery"),
    path(
        "webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        delivery_redeliver,
        name="delivery-redeliver",
    ),
]
