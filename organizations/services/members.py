"""An organization's team: members and their roles (organizations.roles), invitations by email, and the one
owner handing the organization over. Every change is a MemberEvent, written in the change's transaction.

Locking: a change to the team locks the organization's row first, so two admins changing roles at once, or a
transfer racing a removal, are taken one after the other and the organization always has exactly one owner.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.errors import Conflict, ResourceNotFound, ValidationError
from organizations.access import role_check
from organizations.models import Invitation, MemberEvent, Membership, Organization
from organizations.roles import Permission, Role
from organizations.services.signup import new_account_password_check

Action = MemberEvent.Action
INVITATION_TTL = timedelta(hours=72)
# An invitation email's link opens the portal's page (password, join); the API endpoint is named beside it.
ACCEPT_PAGE = "/portal/invitations/{token}/"
ACCEPT_PATH = "/api/invitations/{token}/accept"


def members_list(*, organization: Organization):
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("created_at", "id")
    )


def member_events(*, organization: Organization):
    return MemberEvent.objects.filter(organization=organization).select_related("actor")


def _record(organization, action, *, actor=None, email="", before="", after="") -> None:
    MemberEvent.objects.create(
        organization=organization,
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        subject_email=email,
        role_before=before,
        role_after=after,
    )


def _locked(organization: Organization) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization.pk)


def _user_by_email(email: str):
    users = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def _assignable(role: str) -> None:
    if role == Role.OWNER:
        raise ValidationError(
            "The owner is made only by transferring ownership.",
            details={"role": ["Give the owner role with PATCH …/members/{userId} as the owner."]},
        )


def member_add(*, organization: Organization, actor, email: str, role: str) -> Membership:
    """Add the existing user with this email; someone without an account is invited instead."""
    _assignable(role)
    user = _user_by_email(email)
    if user is None:
        raise ResourceNotFound(
            "No user has this email: invite them instead (POST …/invitations).", details={"email": email}
        )
    with transaction.atomic():
        _locked(organization)
        try:
            with transaction.atomic():
                membership = Membership.objects.create(organization=organization, user=user, role=role)
        except IntegrityError:
            raise Conflict("This user is already a member.", details={"userId": user.pk}) from None
        _record(organization, Action.ADDED, actor=actor, email=user.email, after=role)
    return membership


def member_role_set(*, organization: Organization, actor, user_id, role: str) -> Membership:
    """Change a member's role. Giving `owner` transfers ownership (the owner only): the previous owner
    becomes an admin. The owner's own role changes only by such a transfer."""
    with transaction.atomic():
        _locked(organization)
        membership = _membership(organization, user_id)
        before = membership.role
        if role == Role.OWNER:
            mine = Membership.objects.get(organization=organization, user=actor)
            role_check(mine.role, Permission.TRANSFER_OWNERSHIP)  # the owner's alone
            if membership.pk == mine.pk:
                return membership
            Membership.objects.filter(pk=mine.pk).update(role=Role.ADMIN)
            _record(organization, Action.OWNERSHIP_TRANSFERRED, actor=actor, email=membership.user.email,
                    before=before, after=Role.OWNER)  # fmt: skip
        elif before == Role.OWNER:  # the request is fine; the organization's state refuses it
            raise Conflict(
                "The owner's role changes only by transferring ownership to another member.",
                details={"userId": str(user_id), "role": before},
            )
        else:
            _record(organization, Action.ROLE_CHANGED, actor=actor, email=membership.user.email,
                    before=before, after=role)  # fmt: skip
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def member_remove(*, organization: Organization, actor, user_id) -> None:
    """Remove a member (manage_members), or leave (anyone for themselves); never the owner."""
    with transaction.atomic():
        _locked(organization)
        membership = _membership(organization, user_id)
        leaving = membership.user_id == actor.pk
        if membership.role == Role.OWNER:
            raise Conflict(
                "The owner cannot be removed: transfer ownership first.",
                details={"userId": str(user_id), "role": membership.role},
            )
        if not leaving:
            mine = Membership.objects.get(organization=organization, user=actor)
            role_check(mine.role, Permission.MANAGE_MEMBERS)
        membership.delete()
        _record(organization, Action.LEFT if leaving else Action.REMOVED, actor=actor,
                email=membership.user.email, before=membership.role)  # fmt: skip


def member_get(*, organization: Organization, user_id) -> Membership:
    return _membership(organization, user_id)


def _membership(organization: Organization, user_id) -> Membership:
    # Any id a user could have: digits that fit a bigint (a longer one would be the database's error).
    known = str(user_id).isascii() and str(user_id).isdigit() and len(str(user_id)) <= 18
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=organization, user_id=int(user_id) if known else None)
        .first()
    )
    if membership is None:
        raise ResourceNotFound("No member has this user id.", details={"userId": str(user_id)})
    return membership


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, organization: Organization, actor, email: str, role: str) -> tuple[Invitation, str]:
    """Invite `email` with `role`: a single-use token that expires after INVITATION_TTL, emailed; we keep
    only its SHA-256. Returns the invitation and the token (for the email only)."""
    _assignable(role)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        _locked(organization)
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=_token_hash(token),
            invited_by=actor,
            expires_at=timezone.now() + INVITATION_TTL,
        )
        _record(organization, Action.INVITED, actor=actor, email=email, after=role)
        transaction.on_commit(
            lambda: _invitation_email(invitation, token, inviter=actor.email or actor.get_username())
        )
    return invitation, token


def _invitation_email(invitation: Invitation, token: str, *, inviter: str) -> None:
    page = settings.PUBLIC_BASE_URL + ACCEPT_PAGE.format(token=token)
    url = settings.PUBLIC_BASE_URL + ACCEPT_PATH.format(token=token)
    send_mail(
        subject=f"You are invited to {invitation.organization.name} on GarmaxAI",
        message=(
            f"{inviter} invited you to join {invitation.organization.name} as {invitation.role}.\n\n"
            f"Accept in the GarmaxAI portal: {page}\n"
            f"(or POST to {url}, with a JSON password when you have no GarmaxAI account yet).\n"
            f"The invitation expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC and works once.\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
        fail_silently=True,  # the invitation stands; an admin can invite again
    )


def invitations_list(*, organization: Organization):
    return Invitation.objects.filter(organization=organization)


def invitation_revoke(*, organization: Organization, actor, invitation_id: str) -> Invitation:
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().filter(organization=organization, pk=invitation_id).first()
        )
        if invitation is None:
            raise ResourceNotFound("Invitation not found.", details={"invitationId": invitation_id})
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            _record(organization, Action.INVITATION_REVOKED, actor=actor, email=invitation.email,
                    after=invitation.role)  # fmt: skip
    return invitation


def invitation_pending(*, token: str) -> Invitation | None:
    """The invitation this token accepts, while it can still be accepted; None for every other token."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(token_hash=_token_hash(token or ""), accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    return invitation if invitation is not None and invitation.expires_at > timezone.now() else None


def invitation_has_account(*, invitation: Invitation) -> bool:
    return _user_by_email(invitation.email) is not None


def invitation_accept(*, token: str, password: str | None = None) -> Membership:
    """Join with an invitation's token: its email's user becomes a member with its role (a new user, with
    `password`, when the email has none). One answer for every token that accepts nothing."""
    refused = ResourceNotFound("This invitation does not exist, has expired, or was already used.")
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("organization")
            .filter(token_hash=_token_hash(token or ""), accepted_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        if invitation is None or invitation.expires_at <= timezone.now():
            raise refused
        user = _user_by_email(invitation.email)
        if user is None:
            user = _new_user(invitation.email, password)
        organization = _locked(invitation.organization)
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at, invitation.accepted_by = timezone.now(), user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        if created:
            _record(
                organization, Action.INVITATION_ACCEPTED, actor=user, email=user.email, after=invitation.role
            )
    return membership


def _new_user(email: str, password: str | None):
    if not password:
        raise ValidationError(
            "Choose a password: this email has no GarmaxAI account yet.", details={"password": ["Required."]}
        )
    new_account_password_check(email=email, password=password)
    User = get_user_model()
    candidate = User(username=email[:150], email=email)
    if User.objects.filter(username=candidate.username).exists():
        candidate.username = f"{email[:120]}-{secrets.token_hex(4)}"
    candidate.set_password(password)
    candidate.save()
    return candidate
