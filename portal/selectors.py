"""What the portal reads that no app's selectors already answer: a user's organizations and a sandbox."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from api.pagination import keyset_filter
from apikeys import selectors as apikeys_selectors
from apikeys.admission import ApiKeyPrincipal
from organizations.models import Membership, Organization
from portal.paging import Page
from usage import selectors as usage_selectors


def member_organizations(*, user) -> list[Membership]:
    """The user's memberships of live organizations (a sandbox is reached through its organization)."""
    return list(
        Membership.objects.filter(user=user, organization__sandbox_of__isnull=True)
        .select_related("organization")
        .order_by("organization__name", "organization_id")
    )


def organization_sandbox_existing(*, organization: Organization) -> Organization | None:
    """The organization's test-mode sandbox if it exists; reading never creates it."""
    return Organization.objects.filter(sandbox_of=organization).first()


def active_user(*, user_id):
    """The active user with this id, or None (a stale session's id included)."""
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def request_log_page(*, entries: QuerySet, after: str | None, size: int) -> Page:
    """A page of `entries` (usage.selectors.request_log_list) after the entry whose `log_…` id is `after`,
    as the API pages the log: the id holds the entry's place (created_at, id), so no row is looked up to
    find it; a cursor that is not such an id starts at the newest."""
    anchor = usage_selectors.log_entry_lookup(after) if after else None
    if anchor is not None:
        ordering = [("created_at", True), ("pk", True)]
        entries = entries.filter(keyset_filter(ordering, anchor, after=True))
    rows = list(entries[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = usage_selectors.log_entry_id(rows[-1]) if rows and more else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=anchor is None)


def organization_ledger_filtered(*, organization: Organization, params) -> QuerySet:
    """The organization's credit ledger filtered by `type`, `from` and `to` exactly as GET /v1/account/ledger
    filters it (the same selector, for the organization a member is acting as); raises the API's
    ValidationError for a bad filter."""
    # account_ledger reads only the principal's organization; the key fields name no key here.
    principal = ApiKeyPrincipal(
        key_id="",
        key_prefix="",
        organization_id=organization.pk,
        scopes=(),
        rate_limit=0,
        expires_at=None,
        mode="live" if organization.livemode else "test",
    )
    return apikeys_selectors.account_ledger(principal=principal, params=params)
