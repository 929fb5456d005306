"""API keys in the portal: the keys of the mode being viewed (live keys, or gx_test_ keys in test mode),
each with its audit trail; create, edit, roll and revoke through the JWT API's serializers and services.

A new key's secret is in the one response that answers the create (or roll) POST, never stored, never in
the session, sent with no-store: a reload or a second visit cannot show it again.
"""

from datetime import datetime

from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.cache import add_never_cache_headers

from api.timestamps import timestamp_text
from apikeys import selectors, services
from apikeys.models import ApiKey
from apikeys.scopes import SCOPES
from apikeys.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyEventSerializer,
    ApiKeyRollSerializer,
    ApiKeyUpdateSerializer,
)
from organizations.roles import Permission
from portal.access import portal_page
from portal.actions import perform, validated
from portal.paging import page_after

# The roll's grace periods offered (the API takes any expiresIn from 0 to 7 days; these are the usual ones).
ROLL_CHOICES = [(0, "Stop the old key now"), (3600, "1 hour"), (86400, "24 hours"), (7 * 86400, "7 days")]
ROLL_DEFAULT = 86400
ID_MAX_LENGTH = 64


def _key(request, key_id: str) -> ApiKey:
    """One of the live organization's keys of the mode being viewed; anything else is the 404 page."""
    # An id no key can have (too long, NUL or other control characters) never reaches the database.
    if len(key_id) > ID_MAX_LENGTH or not key_id.isprintable():
        raise Http404
    portal = request.portal
    key = selectors.organization_api_key(organization=portal.organization, key_id=key_id)
    if key is None or key.mode != portal.mode:
        raise Http404
    return key


def _form_value(moment: datetime | None) -> str:
    """A datetime as a datetime-local input shows it, in UTC, to the minute."""
    return timestamp_text(moment)[:16] if moment else ""


def _key_fields(post, *, editing: ApiKey | None = None) -> dict:
    """The form's fields in the API's JSON names: an empty limit is the default (an empty monthly quota none),
    an empty expiry never.

    When editing, the expiry is sent only if the member changed what the form showed: the form shows it to
    the minute, and resending that would move a rolled key's planned end (the service forbids putting it
    off) or log a change nobody made.
    """
    data = {"name": post.get("name", ""), "scopes": post.getlist("scopes")}
    for field in ("rateLimit", "rateLimitPerHour", "rateLimitPerDay", "monthlyQuota"):
        value = post.get(field, "").strip()
        if value or editing is not None:
            data[field] = value or None
    expires_at = post.get("expiresAt", "").strip()
    if editing is None:
        if expires_at:
            data["expiresAt"] = expires_at
    elif expires_at != _form_value(editing.expires_at):
        data["expiresAt"] = expires_at or None
    return data


def _change_text(change) -> str:
    if isinstance(change, dict) and set(change) == {"from", "to"}:
        return f"{_plain(change['from'])} → {_plain(change['to'])}"
    return _plain(change)


def _plain(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{name}: {_plain(item)}" for name, item in value.items()) or "—"
    return str(value)


def _event_row(event: dict) -> dict:
    """An event as the API shows it (actor named as there), its changes as lines of text."""
    return {**event, "lines": [(field, _change_text(change)) for field, change in event["changes"].items()]}


def _secret_page(request, key: ApiKey, raw_key: str, *, rolled_from: ApiKey | None = None):
    response = TemplateResponse(
        request,
        "portal/keys_secret.html",
        {"title": "Your new API key", "key": key, "secret": raw_key, "rolled_from": rolled_from},
    )
    add_never_cache_headers(response)  # no-store: the secret must not rest in any cache
    return response


@portal_page
def keys_page(request):
    portal = request.portal
    keys = selectors.organization_api_keys(organization=portal.organization, mode=portal.mode)
    return TemplateResponse(
        request,
        "portal/keys.html",
        {
            "title": "API keys",
            "page": page_after(keys, request.GET.get("after")),
            "scopes": SCOPES.items(),
        },
    )


@portal_page(permission=Permission.MANAGE_KEYS)
def key_create(request):
    if request.method != "POST":
        return redirect("portal:keys")
    portal = request.portal
    data = validated(request, ApiKeyCreateSerializer, {**_key_fields(request.POST), "mode": portal.mode})
    created = data is not None and perform(
        request,
        lambda: services.apikey_create(
            organization=portal.organization,
            created_by=request.user,
            **ApiKeyCreateSerializer.create_arguments(data),
        ),
        done="API key created.",
    )
    if not created:
        return redirect("portal:keys")
    key, raw_key = created
    return _secret_page(request, key, raw_key)


@portal_page
def key_detail(request, key_id: str):
    key = _key(request, key_id)
    events = page_after(selectors.api_key_events(key=key), request.GET.get("after"))
    return TemplateResponse(
        request,
        "portal/keys_detail.html",
        {
            "title": f"API key {key.name}",
            "key": key,
            "events": events,
            "event_rows": [_event_row(event) for event in ApiKeyEventSerializer(events.rows, many=True).data],
            "scopes": SCOPES.items(),
            "expires_value": _form_value(key.expires_at),
            "roll_choices": ROLL_CHOICES,
            "roll_default": ROLL_DEFAULT,
        },
    )


@portal_page(permission=Permission.MANAGE_KEYS)
def key_edit(request, key_id: str):
    key = _key(request, key_id)
    if request.method == "POST":
        data = validated(request, ApiKeyUpdateSerializer, _key_fields(request.POST, editing=key))
        if data is not None:
            perform(
                request,
                lambda: services.apikey_update(key=key, data=data, actor=request.user),
                done="API key saved.",
            )
    return redirect("portal:key", key_id=key.pk)


@portal_page(permission=Permission.MANAGE_KEYS)
def key_roll(request, key_id: str):
    key = _key(request, key_id)
    if request.method != "POST":
        return redirect("portal:key", key_id=key.pk)
    data = validated(
        request, ApiKeyRollSerializer, {"expiresIn": request.POST.get("expiresIn", ROLL_DEFAULT)}
    )
    rolled = data is not None and perform(
        request,
        lambda: services.apikey_roll(key=key, expires_in=data["expiresIn"], actor=request.user),
        done="API key rolled.",
    )
    if not rolled:
        return redirect("portal:key", key_id=key.pk)
    new, raw_key = rolled
    key.refresh_from_db()
    return _secret_page(request, new, raw_key, rolled_from=key)


@portal_page(permission=Permission.MANAGE_KEYS)
def key_revoke(request, key_id: str):
    """GET asks for confirmation; POST revokes (soft: the key stays listed as revoked)."""
    key = _key(request, key_id)
    if request.method == "POST":
        perform(
            request,
            lambda: services.apikey_revoke(key=key, actor=request.user),
            done=f"API key {key.key_prefix}… revoked: it is refused from the next request on.",
        )
        return redirect("portal:key", key_id=key.pk)
    return TemplateResponse(request, "portal/keys_revoke.html", {"title": "Revoke API key", "key": key})


urlpatterns = [
    path("keys/", keys_page, name="keys"),
    path("keys/new", key_create, name="key-create"),
    path("keys/<str:key_id>/", key_detail, name="key"),
    path("keys/<str:key_id>/edit", key_edit, name="key-edit"),
    path("keys/<str:key_id>/roll", key_roll, name="key-roll"),
    path("keys/<str:key_id>/revoke", key_revoke, name="key-revoke"),
]
