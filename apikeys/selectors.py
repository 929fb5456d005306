"""Reads for the account a key sees (its organization, in its mode, and that mode's credit ledger)."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime

from django.db.models import QuerySet

from api.date_parameters import date_parameter, is_date_only
from api.errors import ValidationError
from api.timestamps import timestamp_text
from apikeys.admission import ApiKeyPrincipal
from apikeys.models import ApiKey
from apikeys.ratelimit import MONTH, WindowState, windows_peek
from organizations.models import CreditLedgerEntry, Organization, credits_number

# Parts of GET /v1/account that apps above keys add (tryons: what this deployment renders), registered in
# their AppConfig.ready with the serializer that documents them: keys cannot import them.
# The OpenAPI example of GET /v1/account; each registered section adds its own to it.
ACCOUNT_EXAMPLE = {
    "organizationId": "org_abc123",
    "name": "Acme Fashion",
    "status": "active",
    "livemode": True,
    "apiVersion": "2026-11-01",
    "credits": 96.4,
    "apiKey": {
        "id": "key_9f8e7d6c5b4a",
        "keyPrefix": "gx_live_ab12cd34",
        "mode": "live",
        "scopes": ["all"],
        "rateLimit": 60,
        "rateLimitPerHour": 1000,
        "rateLimitPerDay": 10000,
        "monthlyQuota": 50000,
        "monthlyQuotaRemaining": 41250,
        "endpointLimits": {"cart-tryons:create": 10},
        "window": "minute",
        "remaining": 59,
        "resetAt": 1768473060,
        "expiresAt": None,
    },
}

_account_sections: dict[str, tuple[Callable[[ApiKeyPrincipal], dict], object]] = {}


def account_section_register(
    name: str, build: Callable[[ApiKeyPrincipal], dict], serializer, *, example: dict
) -> None:
    """Add (or replace: a repeated ready() is harmless) the account field `name`, built per request by
    `build(principal)`, documented by `serializer` (an instance), shown in the API reference as `example`."""
    _account_sections[name] = (build, serializer)
    ACCOUNT_EXAMPLE[name] = example


def account_sections() -> dict[str, object]:
    """The registered account fields, each a fresh copy of its serializer (a field binds to one parent), as
    DRF copies a serializer's declared fields."""
    return {name: copy.deepcopy(serializer) for name, (_, serializer) in _account_sections.items()}


def account_for_key(*, principal: ApiKeyPrincipal, rate_limit) -> dict:
    """The organization as the key sees it: a test key sees the sandbox balance under the live id."""
    organization = Organization.objects.only("id", "name", "status", "credits", "sandbox_of").get(
        pk=principal.organization_id
    )
    return {
        "organizationId": organization.sandbox_of_id or organization.id,
        "name": organization.name,
        "status": organization.status,
        "livemode": principal.livemode,
        "apiVersion": principal.api_version,
        "credits": credits_number(organization.credits),
        "apiKey": {
            "id": principal.key_id,
            "keyPrefix": principal.key_prefix,
            "mode": principal.mode,
            "scopes": list(principal.scopes),
            "rateLimit": principal.rate_limit,
            "rateLimitPerHour": principal.rate_limit_per_hour,
            "rateLimitPerDay": principal.rate_limit_per_day,
            "monthlyQuota": principal.monthly_quota,
            "monthlyQuotaRemaining": _quota_remaining(principal, rate_limit),
            "endpointLimits": dict(principal.endpoint_limits),
            "window": rate_limit.window if rate_limit else None,
            "remaining": rate_limit.remaining if rate_limit else None,
            "resetAt": rate_limit.reset_at if rate_limit else None,
            "expiresAt": (
                timestamp_text(datetime.fromtimestamp(principal.expires_at, tz=UTC))
                if principal.expires_at
                else None
            ),
        },
        **{name: build(principal) for name, (build, _) in _account_sections.items()},
    }


def _quota_remaining(principal: ApiKeyPrincipal, rate_limit) -> int | None:
    """What is left of the key's monthly quota, this request counted (None: the key has no quota)."""
    if principal.monthly_quota is None:
        return None
    if rate_limit is not None and rate_limit.window == MONTH:
        return rate_limit.remaining
    states = windows_peek(key_prefix=principal.key_prefix, windows=principal.windows)
    return next(state.remaining for state in states if state.window == MONTH)


def key_rate_limits(*, principal: ApiKeyPrincipal) -> dict:
    """Every window of the calling key as it stands (this request counted; nothing else is), and each of
    its per-operation limits (not counted by this request, which is no such operation)."""
    states = windows_peek(
        key_prefix=principal.key_prefix, windows=principal.windows, operations=principal.endpoint_limits
    )
    operations = {name for name, _ in principal.endpoint_limits}
    windows = [state for state in states if state.window not in operations]
    tightest = min(windows, key=lambda state: state.remaining)
    return {
        "keyId": principal.key_id,
        "keyPrefix": principal.key_prefix,
        "tightest": tightest.window,
        "windows": [_window_figures(state) for state in windows],
        "operations": [
            {"operation": state.window, **_window_figures(state, named=False)}
            for state in states
            if state.window in operations
        ],
    }


def _window_figures(state: WindowState, *, named: bool = True) -> dict:
    figures = {"limit": state.limit, "remaining": state.remaining, "resetAt": state.reset_at}
    return {"window": state.window, **figures} if named else figures


def account_ledger(*, principal: ApiKeyPrincipal, params) -> QuerySet:
    """The ledger of the key's mode, newest first, filtered by `type` (kind) and a `from`/`to` range."""
    entries = CreditLedgerEntry.objects.filter(organization_id=principal.organization_id).select_related(
        "actor"
    )
    kind = params.get("type")
    if kind:
        if kind not in CreditLedgerEntry.Kind.values:
            raise ValidationError(
                details={"type": [f"Must be one of {', '.join(CreditLedgerEntry.Kind.values)}."]}
            )
        entries = entries.filter(kind=kind)
    since = date_parameter(params.get("from"), field="from")
    until = date_parameter(params.get("to"), field="to", day_end=True)
    # A date-time `to` is inclusive, so from == to names that instant; a date `to` already ends its day.
    if since and until and (since > until or (since == until and is_date_only(params["to"]))):
        raise ValidationError(details={"to": ["Must not be before from."]})
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        # A date-time bound is inclusive; a date bound covers its whole day.
        entries = (
            entries.filter(created_at__lt=until)
            if is_date_only(params["to"])
            else entries.filter(created_at__lte=until)
        )
    return entries


def organization_api_key(*, organization: Organization, key_id: str) -> ApiKey | None:
    """One of the organization's keys (either mode), or None: another organization's key id finds nothing."""
    return ApiKey.objects.filter(organization=organization, pk=key_id).first()


def organization_api_keys(*, organization: Organization, mode: str | None = None) -> QuerySet:
    """The organization's keys, of one mode when `mode` is given."""
    keys = organization.api_keys.all()
    return keys if mode is None else keys.filter(mode=mode)


def api_key_events(*, key: ApiKey) -> QuerySet:
    """The key's lifecycle events with who acted, newest first."""
    return key.events.select_related("actor")
