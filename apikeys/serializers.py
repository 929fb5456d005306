from django.conf import settings
from rest_framework import serializers

from apikeys.models import ApiKey
from apikeys.scopes import SCOPES


class ApiKeySerializer(serializers.ModelSerializer):
    keyPrefix = serializers.CharField(source="key_prefix", read_only=True)
    rateLimit = serializers.IntegerField(source="effective_rate_limit", read_only=True)
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", read_only=True, allow_null=True)
    usageCount = serializers.IntegerField(source="usage_count", read_only=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", read_only=True, allow_null=True)
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


class UsageTotalsSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Responses with status 400 or above.")
    averageDurationMs = serializers.FloatField()


class UsageDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()


class UsageEndpointSerializer(serializers.Serializer):
    method = serializers.CharField()
    route = serializers.CharField(help_text="URL template, e.g. /api/v1/customers/{externalId}.")
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    averageDurationMs = serializers.FloatField()


class UsageStatusClassSerializer(serializers.Serializer):
    _2xx = serializers.IntegerField()
    _3xx = serializers.IntegerField()
    _4xx = serializers.IntegerField()
    _5xx = serializers.IntegerField()

    def get_fields(self):
        # JSON names starting with a digit are not Python identifiers.
        return {name.lstrip("_"): field for name, field in super().get_fields().items()}


class ApiKeyUsageSerializer(serializers.Serializer):
    keyId = serializers.CharField()
    days = serializers.IntegerField()
    to = serializers.DateField()
    totals = UsageTotalsSerializer()
    byDay = UsageDaySerializer(many=True)
    byEndpoint = UsageEndpointSerializer(many=True)
    byStatusClass = UsageStatusClassSerializer()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(help_text="First day of the window (UTC).")
        return fields
