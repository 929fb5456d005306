"""Who sees which portal page: a signed-in member (second factor checked when they enrolled one), of the
organization chosen in their session, in the mode chosen there (live, or its test-mode sandbox).

Every page names the permission it needs (organizations.roles), as the JWT endpoints do: a member without
it gets the portal's 403 page, and another organization's object is the 404 page. Nothing is decided by
what the browser sends but the session's choices, which are checked against the memberships on each request.
"""

from dataclasses import dataclass, field
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_otp import user_has_device
from django_otp.middleware import OTPMiddleware

from api.errors import ResourceNotFound
from organizations.models import Membership, Organization
from organizations.roles import Permission, role_allows
from portal import selectors

ORGANIZATION_SESSION_KEY = "portal_organization"
MODE_SESSION_KEY = "portal_mode"
LIVE, TEST = "live", "test"
MODES = (LIVE, TEST)


@dataclass
class Portal:
    """The member's place in the portal on this request."""

    membership: Membership
    mode: str
    acting: Organization  # the live organization, or its sandbox in test mode
    memberships: list[Membership] = field(default_factory=list)

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, permission: Permission) -> bool:
        return role_allows(self.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(f"Your role ({self.role}) does not allow this: it needs {permission}.")

    @property
    def allowed(self) -> dict[str, bool]:
        """{permission: bool} for templates: `{% if portal.allowed.manage_keys %}`."""
        return {str(permission): self.can(permission) for permission in Permission}


def _portal(request) -> Portal | None:
    memberships = selectors.member_organizations(user=request.user)
    if not memberships:
        return None
    chosen = request.session.get(ORGANIZATION_SESSION_KEY)
    membership = next((m for m in memberships if m.organization_id == chosen), memberships[0])
    mode = request.session.get(MODE_SESSION_KEY) if request.session.get(MODE_SESSION_KEY) in MODES else LIVE
    acting = membership.organization
    if mode == TEST:
        # Reading never creates the sandbox: switching to test mode (a POST) does.
        acting = selectors.organization_sandbox_existing(organization=membership.organization)
        if acting is None:
            mode, acting = LIVE, membership.organization
    return Portal(membership=membership, mode=mode, acting=acting, memberships=memberships)


def _refusal(request, template: str, status: int, message: str = "") -> TemplateResponse:
    return TemplateResponse(request, template, {"message": message}, status=status)


def portal_page(view=None, *, permission: Permission = Permission.READ):
    """Decorate a portal view: sign-in (and second factor), membership, and `permission` on every method.

    The view gets `request.portal` (a Portal). Raising PermissionDenied or Http404 (or the services'
    ResourceNotFound) inside it renders the portal's own 403 or 404 page.
    """

    def decorate(view):
        @never_cache
        @wraps(view)
        def page(request, *args, **kwargs):
            # The OTP middleware only for these pages: partner API requests never pay for it.
            return OTPMiddleware(lambda request: _page(request, view, permission, args, kwargs))(request)

        return page

    return decorate(view) if view is not None else decorate


def _page(request, view, permission, args, kwargs):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("portal:login"))
    if user_has_device(user) and not user.is_verified():
        return redirect(reverse("portal:login-code") + "?next=" + request.path)
    portal = _portal(request)
    if portal is None:
        return _refusal(request, "portal/no_organization.html", 403)
    request.portal = portal
    try:
        portal.require(permission)
        return view(request, *args, **kwargs)
    except PermissionDenied as refusal:
        return _refusal(request, "portal/403.html", 403, str(refusal))
    except (Http404, ResourceNotFound):
        return _refusal(request, "portal/404.html", 404)
