"""Who may see and change an organization through the JWT endpoints.

A user who is neither a member nor allowed staff gets a 404, never a 403: we do not confirm the
organization exists. Being staff (`is_staff`, which only opens the admin) is not enough to read every
organization: the staff member needs the permission to view organizations, which the "support" and
"billing" groups grant (organizations/staff_groups.py), or to be a superuser; staff only ever read.
A member may do what their role's permissions allow (organizations.roles); anything else is a 403 naming
the permission.
"""

from api.errors import Forbidden, ResourceNotFound
from organizations.models import Membership, Organization
from organizations.roles import Permission, role_allows


def staff_reads_every_organization(user) -> bool:
    return bool(user.is_staff and user.is_active and user.has_perm("organizations.view_organization"))


def organization_for_user(
    *, user, organization_id: str, permission: Permission = Permission.READ
) -> Organization:
    # A sandbox is reached only through its organization (test keys, /sandbox/reset), never by its own id.
    organization = Organization.objects.filter(pk=organization_id, sandbox_of__isnull=True).first()
    if organization is None:
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        if permission == Permission.READ and staff_reads_every_organization(user):
            return organization  # support and billing staff read every organization
        raise ResourceNotFound(f"Organization {organization_id} not found.")
    role_check(membership.role, permission)
    return organization


def role_check(role: str, permission: Permission) -> None:
    """Raise Forbidden, naming the role and the permission, unless `role` grants `permission`."""
    if not role_allows(role, permission):
        raise Forbidden(
            f"Your role ({role}) does not allow this: it needs the {permission} permission.",
            details={"role": role, "permission": str(permission)},
        )
