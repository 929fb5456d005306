"""The team as partners read and change it: members, invitations and the team's audit trail."""

from django.utils import timezone
from rest_framework import serializers

from organizations.models import Invitation, MemberEvent
from organizations.roles import ASSIGNABLE_ROLES, ROLE_NAMES


class MemberSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user_id")
    email = serializers.EmailField(source="user.email")
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=ROLE_NAMES)
    joinedAt = serializers.DateTimeField(source="created_at")


class InvitationAcceptedSerializer(MemberSerializer):
    organizationId = serializers.CharField(source="organization_id")


class MemberAddSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=ASSIGNABLE_ROLES, help_text="`owner` is given only by a transfer.")


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        required=False,
        choices=ROLE_NAMES,
        help_text="`owner` transfers ownership (the owner only); the owner becomes an admin.",
    )


class InvitationCreateSerializer(MemberAddSerializer):
    pass


class InvitationSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=ROLE_NAMES)
    status = serializers.SerializerMethodField()
    invitedBy = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    acceptedAt = serializers.DateTimeField(source="accepted_at", allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "invitedBy", "createdAt", "expiresAt", "acceptedAt"]

    def get_status(self, invitation: Invitation) -> str:
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "expired" if invitation.expires_at <= timezone.now() else "pending"

    def get_invitedBy(self, invitation: Invitation) -> str | None:
        return invitation.invited_by.email if invitation.invited_by else None


class InvitationAcceptSerializer(serializers.Serializer):
    password = serializers.CharField(
        required=False,
        write_only=True,
        max_length=128,
        help_text="Needed only when the email has no account.",
    )


class MemberEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    subject = serializers.CharField(source="subject_email")
    roleBefore = serializers.CharField(source="role_before", allow_blank=True)
    roleAfter = serializers.CharField(source="role_after", allow_blank=True)
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = MemberEvent
        fields = ["id", "action", "actor", "subject", "roleBefore", "roleAfter", "createdAt"]

    def get_actor(self, event: MemberEvent) -> str | None:
        return event.actor.email if event.actor else None
