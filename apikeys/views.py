from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from apikeys import services
from apikeys.models import ApiKey
from apikeys.serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer
from config.errors import ResourceNotFound
from config.idempotency import IdempotentPostMixin
from organizations.access import organization_for_user


@extend_schema(tags=["API keys"])
class ApiKeyViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """An organization's API keys (JWT; owner or admin)."""

    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()
    lookup_url_kwarg = "key_id"

    def _organization(self, manage=True):
        return organization_for_user(
            user=self.request.user, organization_id=self.kwargs["organization_id"], manage=manage
        )

    @extend_schema(
        summary="Create an API key (the full key is shown once)",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def create(self, request, organization_id=None):
        organization = self._organization()
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

    @extend_schema(summary="List API keys")
    def list(self, request, organization_id=None):
        organization = self._organization()
        page = self.paginate_queryset(organization.api_keys.all())
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(summary="Revoke an API key (soft: it stays listed as revoked)", responses={204: None})
    def destroy(self, request, organization_id=None, key_id=None):
        organization = self._organization()
        key = ApiKey.objects.filter(organization=organization, pk=key_id).first()
        if key is None:
            raise ResourceNotFound(f"API key {key_id} not found.")
        services.apikey_revoke(key=key, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
