from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api import versions
from api.idempotency import IdempotentPostMixin
from api.schema import ErrorSerializer
from organizations import selectors, services
from organizations.access import organization_for_user
from organizations.models import Organization, credits_number
from organizations.roles import Permission, update_permissions
from organizations.serializers import (
    CreditLedgerEntrySerializer,
    CreditTopUpSerializer,
    OrganizationSerializer,
    SandboxResetResponseSerializer,
    TopUpResponseSerializer,
)


@extend_schema(tags=["Organizations"])
class OrganizationViewSet(
    IdempotentPostMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Organizations: the partner's company account, its settings and its credit balance (JWT)."""

    serializer_class = OrganizationSerializer
    queryset = Organization.objects.none()
    lookup_value_regex = r"[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_object(self):
        return organization_for_user(user=self.request.user, organization_id=self.kwargs["pk"])

    @extend_schema(summary="Create an organization", responses={201: OrganizationSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = services.organization_create(
            owner=request.user,
            name=data["name"],
            domain=data.get("domain", ""),
            billing_email=data.get("billing_email", ""),
            settings_=data.get("settings"),
        )
        return Response(self.get_serializer(organization).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Get an organization")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Update an organization",
        description="The billing email and the low-balance threshold need the manage_billing permission "
        '(owner, admin, billing); everything else manage_organization (owner, admin). README, "Team and '
        'roles".',
    )
    def partial_update(self, request, *args, **kwargs):
        organization = self.get_object()
        serializer = self.get_serializer(organization, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        for permission in update_permissions(serializer.validated_data):
            organization_for_user(user=request.user, organization_id=organization.pk, permission=permission)
        services.organization_update(organization=organization, data=serializer.validated_data)
        return Response(self.get_serializer(organization).data)

    def idempotency_scope(self, request) -> str:
        # Top-ups: billing staff share one Idempotency-Key space per organization, so two of them sending
        # one key (one invoice, entered twice) top up once. Only billing staff: anybody else's refusal must
        # not be stored where a top-up would find it.
        if self.action == "credits" and services.user_can_add_credits(request.user):
            return f"credits:{self.kwargs.get('pk')}"
        return super().idempotency_scope(request)

    @extend_schema(
        methods=["POST"],
        summary="Add credits (GarmaxAI billing staff only)",
        description=(
            "An `Idempotency-Key` on a top-up is scoped to the organization, not to the staff user: two "
            "billing staff sending the same key top up once (the second gets the first answer, "
            "`Idempotent-Replayed: true`)."
        ),
        request=CreditTopUpSerializer,
        responses={201: TopUpResponseSerializer, 403: ErrorSerializer},
    )
    @extend_schema(
        methods=["GET"],
        summary="The organization's credit ledger",
        responses=CreditLedgerEntrySerializer(many=True),
    )
    @action(detail=True, methods=["get", "post"], url_path="credits")
    def credits(self, request, pk=None):
        if request.method == "GET":
            organization = organization_for_user(user=request.user, organization_id=pk)
            page = self.paginate_queryset(selectors.organization_ledger(organization=organization))
            return self.get_paginated_response(CreditLedgerEntrySerializer(page, many=True).data)

        organization = organization_for_user(user=request.user, organization_id=pk)
        serializer = CreditTopUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.credits_top_up(
            organization=organization,
            amount=serializer.validated_data["amount"],
            description=serializer.validated_data["description"],
            actor=request.user,
        )
        organization.refresh_from_db(fields=["credits"])
        body = {
            "organizationId": organization.id,
            "credits": credits_number(organization.credits),
            "entry": CreditLedgerEntrySerializer(entry).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Reset the test-mode sandbox balance to the signup grant (manage_test_mode)",
        description="Test keys (`gx_test_…`) spend a sandbox balance that never touches the live one. This "
        "brings it back to the signup grant with one `adjustment` ledger entry (none when it is already "
        "there); test customers, try-ons and webhooks are kept.",
        request=None,
        responses={200: SandboxResetResponseSerializer},
        examples=[
            OpenApiExample(
                "Reset",
                value={
                    "organizationId": "org_abc123",
                    "mode": "test",
                    "credits": 100,
                    "entry": {
                        "id": 42,
                        "type": "adjustment",
                        "amount": 37,
                        "balanceAfter": 100,
                        "reference": "",
                        "description": "Sandbox balance reset",
                        "actor": "owner@example.com",
                        "createdAt": "2026-01-15T10:30:00Z",
                    },
                },
                response_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="sandbox/reset")
    def sandbox_reset(self, request, pk=None):
        organization = organization_for_user(
            user=request.user, organization_id=pk, permission=Permission.MANAGE_TEST_MODE
        )
        entry = services.sandbox_reset(organization=organization, actor=request.user)
        sandbox = services.organization_sandbox(organization=organization)
        body = {
            "organizationId": organization.id,
            "mode": "test",
            "credits": credits_number(sandbox.credits),
            "entry": CreditLedgerEntrySerializer(entry).data if entry else None,
        }
        return Response(body)


class ChangelogChangeSerializer(serializers.Serializer):
    description = serializers.CharField()
    operation = serializers.CharField(required=False, help_text="e.g. `POST /api/v1/cart-tryons`.")
    event = serializers.CharField(required=False, help_text="The webhook event type it concerns.")


class ChangelogVersionSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The Garmax-Version value, a date.")
    summary = serializers.CharField()
    changes = ChangelogChangeSerializer(many=True)


class ChangelogSerializer(serializers.Serializer):
    header = serializers.CharField()
    latest = serializers.CharField()
    versions = ChangelogVersionSerializer(many=True, help_text="Newest first.")


class ChangelogView(APIView):
    """Public: the dated API versions an organization may pin (api/versions.py; the same as CHANGELOG.md)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Docs"],
        summary="The dated API versions and what each changed",
        description="Send `Garmax-Version: <version>` to be answered in one; without it the organization's "
        "pinned version answers (`apiVersion` of the organization).",
        responses={200: ChangelogSerializer},
        examples=[OpenApiExample("Changelog", value=versions.changelog(), response_only=True)],
        auth=[],
    )
    def get(self, request):
        return Response(versions.changelog())
