"""What the portal reads that no app's selectors already answer: a user's organizations and a sandbox."""

from django.contrib.auth import get_user_model

from organizations.models import Membership, Organization


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
