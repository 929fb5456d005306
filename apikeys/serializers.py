from django.conf import settings
from rest_framework import serializers

from apikeys.models import ApiKey
from apikeys.scopes import SCOPES


class ApiKeySerializer(serializers.ModelSerializer):
    keyPrefix = serializers.CharField(source="key_prefix", read_only=True)
    rateLimit = serializers.IntegerField(source="effective_rate_limit", read_only=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", read_only=True)
    usageCount = serializers.IntegerField(source="usage_count", read_only=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "keyPrefix",
            "scopes",
            "rateLimit",
            "status",
            "expiresAt",
            "createdAt",
            "lastUsedAt",
            "usageCount",
            "revokedAt",
        ]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SCOPES)), min_length=1, max_length=len(SCOPES)
    )
    rateLimit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=settings.API_KEY_MAX_RATE_LIMIT
    )
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = ["id", "name", "key", *ApiKeySerializer.Meta.fields[2:]]
