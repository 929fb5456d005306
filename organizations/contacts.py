"""Who in an organization is told about what: the emails of its active members whose role grants a
permission (organizations.roles), e.g. `manage_webhooks` for a disabled endpoint, `manage_keys` for a key
about to expire. A test-mode sandbox has no members of its own: its live organization's are asked."""

from organizations.models import Membership, Organization
from organizations.roles import Permission, role_allows


def member_emails_with_permission(*, organization_id: str, permission: Permission) -> list[str]:
    """The distinct emails (sorted) of active members whose role allows `permission`; [] when none."""
    live_id = (
        Organization.objects.filter(pk=organization_id).values_list("sandbox_of_id", flat=True).first()
        or organization_id
    )
    memberships = Membership.objects.filter(organization_id=live_id, user__is_active=True).exclude(
        user__email=""
    )
    return sorted(
        {
            email
            for role, email in memberships.values_list("role", "user__email")
            if role_allows(role, permission)
        }
    )
