"""The team over the JWT API: members and roles, invitations, their audit trail (README, "Team and roles")."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import IdempotentPostMixin
from organizations.access import organization_for_user
from organizations.roles import Permission
from organizations.services import members as team
from organizations.team_serializers import (
    InvitationAcceptedSerializer,
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberAddSerializer,
    MemberEventSerializer,
    MemberRoleSerializer,
    MemberSerializer,
)

USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The member's userId.")


class _TeamViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"[^/]+"

    def _organization(self, permission: Permission = Permission.READ):
        return organization_for_user(
            user=self.request.user, organization_id=self.kwargs["organization_id"], permission=permission
        )


@extend_schema(tags=["Team"])
class MemberViewSet(_TeamViewSet):
    """The organization's members and their roles."""

    serializer_class = MemberSerializer
    lookup_url_kwarg = "user_id"

    @extend_schema(summary="List the organization's members", responses={200: MemberSerializer(many=True)})
    def list(self, request, organization_id=None):
        page = self.paginate_queryset(team.members_list(organization=self._organization()))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(
        summary="Add an existing user as a member (manage_members)",
        description="By email; someone without a GarmaxAI account is invited instead (404 says so).",
        request=MemberAddSerializer,
        responses={201: MemberSerializer},
    )
    def create(self, request, organization_id=None):
        organization = self._organization(Permission.MANAGE_MEMBERS)
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = team.member_add(
            organization=organization, actor=request.user, **serializer.validated_data
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a member's role (manage_members; `owner`: transfer_ownership)",
        parameters=[USER_ID],
        request=MemberRoleSerializer,
        responses={200: MemberSerializer},
    )
    def partial_update(self, request, organization_id=None, user_id=None):
        organization = self._organization(Permission.MANAGE_MEMBERS)
        serializer = MemberRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data.get("role")
        if role is None:  # a PATCH that changes nothing answers the member as it is
            membership = team.member_get(organization=organization, user_id=user_id)
        else:
            membership = team.member_role_set(
                organization=organization, actor=request.user, user_id=user_id, role=role
            )
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        summary="Remove a member (manage_members), or leave the organization (your own userId)",
        parameters=[USER_ID],
        responses={204: None},
    )
    def destroy(self, request, organization_id=None, user_id=None):
        team.member_remove(organization=self._organization(), actor=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The team's audit trail, newest first",
        description="Members added, invited, accepted, changed, removed or left, and ownership transfers.",
        responses={200: MemberEventSerializer(many=True)},
    )
    def events(self, request, organization_id=None):
        page = self.paginate_queryset(team.member_events(organization=self._organization()))
        return self.get_paginated_response(MemberEventSerializer(page, many=True).data)


@extend_schema(tags=["Team"])
class InvitationViewSet(_TeamViewSet):
    """Invitations to join the organization, sent by email."""

    serializer_class = InvitationSerializer
    lookup_url_kwarg = "invitation_id"

    @extend_schema(summary="List invitations, newest first", responses={200: InvitationSerializer(many=True)})
    def list(self, request, organization_id=None):
        organization = self._organization(Permission.MANAGE_MEMBERS)
        page = self.paginate_queryset(team.invitations_list(organization=organization))
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        summary="Invite someone by email (manage_members)",
        description="Emails a single-use link that expires after 72 hours; we keep only the token's hash.",
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
    )
    def create(self, request, organization_id=None):
        organization = self._organization(Permission.MANAGE_MEMBERS)
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _ = team.invitation_create(
            organization=organization, actor=request.user, **serializer.validated_data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke an invitation (manage_members)", request=None, responses={200: InvitationSerializer}
    )
    def revoke(self, request, organization_id=None, invitation_id=None):
        invitation = team.invitation_revoke(
            organization=self._organization(Permission.MANAGE_MEMBERS),
            actor=request.user,
            invitation_id=invitation_id,
        )
        return Response(InvitationSerializer(invitation).data)


@extend_schema(tags=["Team"])
class InvitationAcceptView(APIView):
    """Accepting needs no account: the token is the proof of the email (a password creates the account)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        summary="Accept an invitation",
        request=InvitationAcceptSerializer,
        responses={200: InvitationAcceptedSerializer},
    )
    def post(self, request, token=None):
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = team.invitation_accept(token=token, password=serializer.validated_data.get("password"))
        return Response(InvitationAcceptedSerializer(membership).data)
