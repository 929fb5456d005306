"""Who may see and change an organization through the JWT endpoints.

A user who is neither a member nor allowed staff gets a 404, never a 403: we do not confirm the
organization exists. Being staff (`is_staff`, which only opens the admin) is not enough to read every
organization: the staff member needs the permission to view organizations, which the "support" and
"billing" groups grant (organizations/staff_groups.py), or to be a superuser.
"""

from api.errors import Forbidden, ResourceNotFound
from organizations.models import Membership, Organization


def staff_reads_every_organization(user) -> bool:
    return bool(user.is_staff and user.is_active and user.has_perm("organizations.view_organization"))


def organization_for_user(*, user, organization_id: str, manage: bool = False) -> Organization:
    # A sandbox is reached only through its organization (test keys, /sandbox/reset), never by its own id.
    organization = Organization.objects.filter(pk=organization_id, sandbox_of__isnull=True).first()
    if organization is None:
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        if not manage and staff_reads_every_organization(user):
            return organization  # support and billing staff read every organization
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    if manage and not membership.can_manage:
        raise Forbidden("Only the organization's owner or admins can do this.")
    return organization
