"""Who may see and change an organization through the JWT endpoints.

A user who is neither a member nor staff gets a 404, never a 403: we do not confirm the organization exists.
"""

from config.errors import Forbidden, ResourceNotFound
from organizations.models import Membership, Organization


def organization_for_user(*, user, organization_id: str, manage: bool = False) -> Organization:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        if user.is_staff and not manage:
            return organization  # support and billing staff read every organization
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    if manage and not membership.can_manage:
        raise Forbidden("Only the organization's owner or admins can do this.")
    return organization
