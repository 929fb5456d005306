from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.date_parameters import date_openapi_parameter
from api.errors import ResourceNotFound, ValidationError
from api.idempotency import IdempotentPostMixin
from api.schema import ErrorSerializer
from apikeys import selectors, services
from apikeys.catalogue import scope_catalogue
from apikeys.models import ApiKey
from apikeys.partner import PartnerAPIMixin
from apikeys.ratelimit import WINDOW_NAMES
from apikeys.scopes import ACCOUNT_READ
from apikeys.serializers import (
    RATE_LIMIT_STATUS_EXAMPLE,
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeyEventSerializer,
    ApiKeyRollSerializer,
    ApiKeySerializer,
    ApiKeyUpdateSerializer,
    RateLimitStatusSerializer,
    ScopeCatalogueSerializer,
)
from organizations.access import organization_for_user
from organizations.models import CreditLedgerEntry, Organization
from organizations.roles import Permission
from organizations.serializers import CreditLedgerEntrySerializer, CreditsField

_KEY_EXAMPLE = {
    "id": "key_9f8e7d6c5b4a",
    "name": "Production server",
    "mode": "live",
    "keyPrefix": "gx_live_ab12cd34",
    "scopes": ["tryon:create", "tryon:read", "photos:upload"],
    "rateLimit": 120,
    "rateLimitPerHour": 1000,
    "rateLimitPerDay": 10000,
    "monthlyQuota": None,
    "endpointLimits": {"cart-tryons:create": 10},
    "status": "active",
    "replacedBy": None,
    "expiresAt": None,
    "createdAt": "2026-01-15T10:30:00Z",
    "lastUsedAt": "2026-01-15T11:02:13Z",
    "usageCount": 1520,
    "revokedAt": None,
}
_NEW_KEY = "gx_live_ab12cd34Xy9QeR7tLm2NpK4sVw6ZbH8jFd3GcA5u"
_OLD_KEY_ID, _NEW_KEY_ID = _KEY_EXAMPLE["id"], "key_1a2b3c4d5e6f"


@extend_schema(tags=["API keys"])
class ApiKeyViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """An organization's API keys (JWT). Members and staff read; the owner and admins create and revoke."""

    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()
    lookup_url_kwarg = "key_id"

    def _organization(self, manage: bool):
        # Reading keys is every member's; changing them the roles with manage_keys (organizations.roles).
        return organization_for_user(
            user=self.request.user,
            organization_id=self.kwargs["organization_id"],
            permission=Permission.MANAGE_KEYS if manage else Permission.READ,
        )

    def _key(self, *, manage: bool) -> ApiKey:
        organization = self._organization(manage=manage)
        key_id = self.kwargs["key_id"]
        key = selectors.organization_api_key(organization=organization, key_id=key_id)
        if key is None:
            raise ResourceNotFound(f"API key {key_id} not found.")
        return key

    @extend_schema(
        summary="Create an API key (the full key is shown once)",
        description="`mode: test` makes a `gx_test_…` key: it sees only test data and spends the sandbox "
        "balance (see `POST /organizations/{id}/sandbox/reset`). `rateLimit` (per minute), "
        "`rateLimitPerHour` and `rateLimitPerDay` default to the deployment's; `monthlyQuota` caps the "
        "requests of a calendar month (UTC). `endpointLimits` caps single operations (requests per minute) "
        "on top of `rateLimit`.",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        examples=[
            OpenApiExample(
                "Create",
                value={
                    "name": "Production server",
                    "scopes": ["tryon:create", "tryon:read", "photos:upload"],
                    "rateLimit": 120,
                    "endpointLimits": {"cart-tryons:create": 10},
                    "mode": "live",
                },
                request_only=True,
            ),
            OpenApiExample("Created", value={**_KEY_EXAMPLE, "key": _NEW_KEY}, response_only=True),
        ],
    )
    def create(self, request, organization_id=None):
        organization = self._organization(manage=True)
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, raw_key = services.apikey_create(
            organization=organization,
            created_by=request.user,
            **ApiKeyCreateSerializer.create_arguments(data),
        )
        key.key = raw_key
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an API key: name, scopes, its limits, expiresAt",
        description="Effective from the very next request on every server. Only active keys can change "
        "(409 for revoked or expired ones). `rateLimit`, `rateLimitPerHour`, `rateLimitPerDay: null` restore "
        "the defaults, `monthlyQuota: null` removes the quota, `expiresAt: null` "
        "removes the expiry, except on a rolled key (one with `replacedBy`): its end, planned by the "
        "roll, can only be brought forward (409 for null or a later time; nothing of that PATCH applies). "
        "Recorded in the key's events with what changed.",
        request=ApiKeyUpdateSerializer,
        responses={
            200: ApiKeySerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Conflict: the key is revoked or expired, or it was rolled and the PATCH would "
                "remove or put off its planned end (details: `expiresAt`, `replacedBy`).",
            ),
        },
        examples=[
            OpenApiExample(
                "Narrow the scopes",
                value={"scopes": ["tryon:read"], "endpointLimits": {"cart-tryons:create": 5}},
                request_only=True,
            ),
            OpenApiExample("Updated", value=_KEY_EXAMPLE, response_only=True),
            OpenApiExample(
                "Planned end put off",
                value={
                    "error": "Conflict",
                    "message": f"API key {_OLD_KEY_ID} was replaced by {_NEW_KEY_ID} and stops working at "
                    "2025-06-02T09:00:00Z. That can be brought forward, never removed or put off.",
                    "code": 409,
                    "details": {"expiresAt": "2025-06-02T09:00:00Z", "replacedBy": _NEW_KEY_ID},
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def partial_update(self, request, organization_id=None, key_id=None):
        key = self._key(manage=True)
        serializer = ApiKeyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = services.apikey_update(key=key, data=serializer.validated_data, actor=request.user)
        return Response(ApiKeySerializer(key).data)

    @extend_schema(
        summary="Roll an API key: a new key now, the old one until expiresIn seconds have passed",
        description="Answers the new key (shown once) with the same name, mode, scopes and limits. The "
        "old key keeps working until its new `expiresAt` (`expiresIn` seconds from now, default 86400, "
        "0 = now, at most 7 days), then gets 401; both are listed with their status. A key is rolled "
        "once (409 again: roll its replacement).",
        request=ApiKeyRollSerializer,
        responses={201: ApiKeyCreatedSerializer},
        examples=[
            OpenApiExample("Roll with one hour of overlap", value={"expiresIn": 3600}, request_only=True),
            OpenApiExample(
                "New key", value={**_KEY_EXAMPLE, "key": _NEW_KEY}, response_only=True, status_codes=["201"]
            ),
        ],
    )
    def roll(self, request, organization_id=None, key_id=None):
        key = self._key(manage=True)
        serializer = ApiKeyRollSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new, raw_key = services.apikey_roll(
            key=key, expires_in=serializer.validated_data["expiresIn"], actor=request.user
        )
        new.key = raw_key
        return Response(ApiKeyCreatedSerializer(new).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The key's audit trail: created, updated, rolled, revoked, expired (newest first)",
        responses={200: ApiKeyEventSerializer(many=True)},
        examples=[
            # One event: drf-spectacular wraps a list operation's example in the page envelope itself.
            OpenApiExample(
                "Events",
                value={
                    "id": 7,
                    "type": "updated",
                    "keyId": "key_9f8e7d6c5b4a",
                    "actor": "owner@example.com",
                    "changes": {"scopes": {"from": ["all"], "to": ["tryon:read"]}},
                    "createdAt": "2026-01-15T10:45:00Z",
                },
                response_only=True,
            )
        ],
    )
    def events(self, request, organization_id=None, key_id=None):
        key = self._key(manage=False)
        page = self.paginate_queryset(selectors.api_key_events(key=key))
        return self.get_paginated_response(ApiKeyEventSerializer(page, many=True).data)

    @extend_schema(
        summary="List API keys of both modes (never the secret)",
        responses={200: ApiKeySerializer(many=True)},
        parameters=[
            OpenApiParameter("mode", str, enum=["live", "test"], description="Only keys of this mode.")
        ],
    )
    def list(self, request, organization_id=None):
        organization = self._organization(manage=False)
        mode = request.query_params.get("mode")
        if mode is not None and mode not in ApiKey.Mode.values:
            raise ValidationError(details={"mode": ["Must be live or test."]})
        page = self.paginate_queryset(selectors.organization_api_keys(organization=organization, mode=mode))
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(summary="Get one API key (never the secret)", responses={200: ApiKeySerializer})
    def retrieve(self, request, organization_id=None, key_id=None):
        return Response(ApiKeySerializer(self._key(manage=False)).data)

    @extend_schema(summary="Revoke an API key (soft: it stays listed as revoked)", responses={204: None})
    def destroy(self, request, organization_id=None, key_id=None):
        services.apikey_revoke(key=self._key(manage=True), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


SCOPE_CATALOGUE_EXAMPLE = {
    "scopes": [
        {
            "scope": "tryon:create",
            "description": "Create try-on sessions",
            "operations": [
                {
                    "method": "POST",
                    "path": "/api/v1/cart-tryons",
                    "operationId": "v1_cart_tryons_create",
                    "summary": "Create a cart try-on session",
                }
            ],
        }
    ]
}


class ScopeCatalogueView(APIView):
    """Public, like the OpenAPI document it is read from."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Docs"],
        summary="Every API key scope and the operations it grants",
        description=(
            "Read from the permission declarations the API enforces, so it cannot disagree with them. "
            "`all` grants every operation."
        ),
        responses={200: ScopeCatalogueSerializer},
        examples=[OpenApiExample("Scopes", value=SCOPE_CATALOGUE_EXAMPLE, response_only=True)],
        auth=[],
    )
    def get(self, request):
        return Response({"scopes": scope_catalogue()})


class AccountApiKeySerializer(serializers.Serializer):
    id = serializers.CharField()
    keyPrefix = serializers.CharField()
    mode = serializers.ChoiceField(choices=ApiKey.Mode.values)
    scopes = serializers.ListField(child=serializers.CharField())
    rateLimit = serializers.IntegerField(help_text="Requests per minute.")
    rateLimitPerHour = serializers.IntegerField(help_text="Requests per hour; 0 = no limit.")
    rateLimitPerDay = serializers.IntegerField(help_text="Requests per day; 0 = no limit.")
    monthlyQuota = serializers.IntegerField(
        allow_null=True, help_text="Requests per calendar month (UTC); null = no quota."
    )
    monthlyQuotaRemaining = serializers.IntegerField(
        allow_null=True, help_text="What is left of the monthly quota, this request counted."
    )
    endpointLimits = serializers.DictField(child=serializers.IntegerField())
    window = serializers.ChoiceField(
        choices=WINDOW_NAMES, help_text="The tightest window: the one remaining and resetAt are about."
    )
    remaining = serializers.IntegerField(help_text="Requests left in that window, this one counted.")
    resetAt = serializers.IntegerField(help_text="Unix seconds when that window is full again.")
    expiresAt = serializers.DateTimeField(allow_null=True)


class AccountSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Organization.Status.values)
    livemode = serializers.BooleanField(help_text="False for a test key: credits is the sandbox balance.")
    apiVersion = serializers.CharField(
        help_text="The organization's pinned API version: what answers without a Garmax-Version header."
    )
    credits = CreditsField(help_text="The balance of the key's mode.")
    apiKey = AccountApiKeySerializer()

    def get_fields(self):
        # And what apps above keys add (selectors.account_section_register), e.g. renderCapabilities.
        return {**super().get_fields(), **selectors.account_sections()}


@extend_schema(tags=["Account"])
class AccountViewSet(PartnerAPIMixin, viewsets.GenericViewSet):
    """The organization and balance an API key sees, in the key's mode (`account:read`)."""

    operation_resource = "account"
    required_scopes = {"retrieve": ACCOUNT_READ, "ledger": ACCOUNT_READ, "rate_limits": ACCOUNT_READ}
    serializer_class = AccountSerializer
    queryset = ApiKey.objects.none()

    @extend_schema(
        summary="The account behind this API key: organization, balance of the key's mode, the key's limits",
        responses={200: AccountSerializer},
        examples=[OpenApiExample("Live key", value=selectors.ACCOUNT_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request):
        account = selectors.account_for_key(
            principal=request.auth, rate_limit=getattr(request, "rate_limit", None)
        )
        return Response(account)

    @extend_schema(
        summary="The credit ledger of the key's mode, newest first",
        parameters=[
            OpenApiParameter("type", str, enum=CreditLedgerEntry.Kind.values, description="Only this kind."),
            date_openapi_parameter("from", "From this time (a date: its start), inclusive."),
            date_openapi_parameter("to", "Up to this time, inclusive (a date: its whole day)."),
        ],
        responses={200: CreditLedgerEntrySerializer(many=True)},
    )
    def ledger(self, request):
        entries = selectors.account_ledger(principal=request.auth, params=request.query_params)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(CreditLedgerEntrySerializer(page, many=True).data)

    @extend_schema(
        tags=["Status"],
        summary="Every rate-limit window of the calling key: minute, hour, day, monthly quota, operations",
        description="Read like any request with the key: this request is counted in its windows (so the "
        "figures include it, and polling this cannot be used to go past a limit); nothing else is. The "
        "per-operation limits are read, not counted.",
        responses={200: RateLimitStatusSerializer},
        examples=[OpenApiExample("Windows", value=RATE_LIMIT_STATUS_EXAMPLE, response_only=True)],
    )
    def rate_limits(self, request):
        return Response(selectors.key_rate_limits(principal=request.auth))
