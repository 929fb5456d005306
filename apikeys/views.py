from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from apikeys import selectors, services
from apikeys.models import ApiKey
from apikeys.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    ApiKeyUsageSerializer,
)
from config.errors import ResourceNotFound, ValidationError
from config.idempotency import IdempotentPostMixin
from organizations.access import organization_for_user

USAGE_DEFAULT_DAYS = 7
USAGE_MAX_DAYS = 90


@extend_schema(tags=["API keys"])
class ApiKeyViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """An organization's API keys (JWT). Members and staff read; the owner and admins create and revoke."""

    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()
    lookup_url_kwarg = "key_id"

    def _organization(self, manage: bool):
        return organization_for_user(
            user=self.request.user, organization_id=self.kwargs["organization_id"], manage=manage
        )

    def _key(self, *, manage: bool) -> ApiKey:
        organization = self._organization(manage=manage)
        key_id = self.kwargs["key_id"]
        key = ApiKey.objects.filter(organization=organization, pk=key_id).first()
        if key is None:
            raise ResourceNotFound(f"API key {key_id} not found.")
        return key

    @extend_schema(
        summary="Create an API key (the full key is shown once)",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def create(self, request, organization_id=None):
        organization = self._organization(manage=True)
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, raw_key = services.apikey_create(
            organization=organization,
            name=data["name"],
            scopes=data["scopes"],
            rate_limit=data.get("rateLimit"),
            expires_at=data.get("expiresAt"),
            created_by=request.user,
        )
        key.key = raw_key
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="List API keys (never the secret)", responses={200: ApiKeySerializer(many=True)})
    def list(self, request, organization_id=None):
        organization = self._organization(manage=False)
        page = self.paginate_queryset(organization.api_keys.all())
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(summary="Get one API key (never the secret)", responses={200: ApiKeySerializer})
    def retrieve(self, request, organization_id=None, key_id=None):
        return Response(ApiKeySerializer(self._key(manage=False)).data)

    @extend_schema(summary="Revoke an API key (soft: it stays listed as revoked)", responses={204: None})
    def destroy(self, request, organization_id=None, key_id=None):
        services.apikey_revoke(key=self._key(manage=True), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Usage of an API key: requests by day, by endpoint and by status class",
        parameters=[
            OpenApiParameter(
                "days",
                int,
                description=f"Window in days, today included (1–{USAGE_MAX_DAYS}, default "
                f"{USAGE_DEFAULT_DAYS}). Counts lag live traffic by a few seconds.",
            )
        ],
        responses={200: ApiKeyUsageSerializer},
    )
    def usage(self, request, organization_id=None, key_id=None):
        key = self._key(manage=False)
        raw = request.query_params.get("days", "")
        try:
            days = int(raw) if raw else USAGE_DEFAULT_DAYS
        except ValueError:
            days = 0
        if not 1 <= days <= USAGE_MAX_DAYS:
            raise ValidationError(details={"days": [f"Must be an integer from 1 to {USAGE_MAX_DAYS}."]})
        return Response(selectors.apikey_usage_summary(key=key, days=days))
