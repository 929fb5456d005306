"""Members, invitations and the team's trail; and the page an invitation email opens."""

from django.contrib import auth, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from organizations.roles import ASSIGNABLE_ROLES, ROLE_NAMES, Permission
from organizations.services import members as team
from organizations.team_serializers import (
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    MemberRoleSerializer,
)
from portal.access import portal_page
from portal.actions import perform, validated
from portal.paging import page_after

TRAIL_SIZE = 50


@portal_page
def team_page(request):
    portal = request.portal
    organization = portal.organization  # the team is the live organization's, in either mode
    trail = page_after(
        team.member_events(organization=organization), request.GET.get("after"), size=TRAIL_SIZE
    )
    return TemplateResponse(
        request,
        "portal/team.html",
        {
            "title": "Team",
            "members": team.members_list(organization=organization),
            "invitations": team.invitations_list(organization=organization)[:100],
            "trail": trail,
            "roles": ROLE_NAMES,
            "assignable": ASSIGNABLE_ROLES,
            "now": timezone.now(),
        },
    )


@portal_page(permission=Permission.MANAGE_MEMBERS)
def invite(request):
    if request.method == "POST":
        data = validated(request, InvitationCreateSerializer, request.POST)
        if data is not None:
            perform(
                request,
                lambda: team.invitation_create(
                    organization=request.portal.organization, actor=request.user, **data
                ),
                done=f"Invitation emailed to {data['email']}.",
            )
    return redirect("portal:team")


@portal_page(permission=Permission.MANAGE_MEMBERS)
def invitation_revoke(request, invitation_id: str):
    if request.method == "POST":
        perform(
            request,
            lambda: team.invitation_revoke(
                organization=request.portal.organization, actor=request.user, invitation_id=invitation_id
            ),
            done="Invitation revoked.",
        )
    return redirect("portal:team")


@portal_page(permission=Permission.MANAGE_MEMBERS)
def member_role(request, user_id: str):
    # Giving `owner` also needs transfer_ownership: the service checks it, as for the API.
    if request.method == "POST":
        data = validated(request, MemberRoleSerializer, request.POST)
        if data is not None and data.get("role"):
            perform(
                request,
                lambda: team.member_role_set(
                    organization=request.portal.organization,
                    actor=request.user,
                    user_id=user_id,
                    role=data["role"],
                ),
                done="Role changed.",
            )
    return redirect("portal:team")


@portal_page
def member_remove(request, user_id: str):
    # Anyone may leave; removing someone else needs manage_members (the service decides, as for the API).
    if request.method == "POST":
        leaving = str(request.user.pk) == user_id
        if not leaving:
            request.portal.require(Permission.MANAGE_MEMBERS)
        removed = perform(
            request,
            lambda: team.member_remove(
                organization=request.portal.organization, actor=request.user, user_id=user_id
            ),
            done="You left the organization." if leaving else "Member removed.",
        )
        if removed and leaving:
            return redirect("portal:overview")
    return redirect("portal:team")


@sensitive_post_parameters("password", "password_again")
@never_cache
def invitation_accept(request, token: str):
    invitation = team.invitation_pending(token=token)
    if invitation is None:
        return TemplateResponse(request, "portal/invitation.html", {"invitation": None}, status=404)
    has_account = team.invitation_has_account(invitation=invitation)
    if request.method == "POST":
        password = request.POST.get("password", "")
        if not has_account and password != request.POST.get("password_again", ""):
            messages.error(request, "The two passwords differ.")
        else:
            data = validated(request, InvitationAcceptSerializer, {"password": password} if password else {})
            membership = data is not None and perform(
                request,
                lambda: team.invitation_accept(token=token, password=data.get("password")),
                done=f"Welcome to {invitation.organization.name}.",
            )
            if membership:
                if has_account:
                    return redirect("portal:login")  # joined; their own password signs them in
                auth.login(request, membership.user)
                return redirect("portal:overview")
    return TemplateResponse(
        request, "portal/invitation.html", {"invitation": invitation, "has_account": has_account}
    )
