from django.conf import settings
from rest_framework import serializers

from api.text import NameField
from apikeys.limits import MONTHLY_QUOTA_MAX, WINDOW_MAX_FACTORS
from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.ratelimit import WINDOW_NAMES
from apikeys.scopes import SCOPES
from organizations.serializers import STAFF_ACTOR


class ApiKeySerializer(serializers.ModelSerializer):
    keyPrefix = serializers.CharField(source="key_prefix", read_only=True)
    rateLimit = serializers.IntegerField(
        source="effective_rate_limit", read_only=True, help_text="Requests per minute."
    )
    rateLimitPerHour = serializers.IntegerField(
        source="effective_rate_limit_per_hour", read_only=True, help_text="Requests per hour; 0 = no limit."
    )
    rateLimitPerDay = serializers.IntegerField(
        source="effective_rate_limit_per_day", read_only=True, help_text="Requests per day; 0 = no limit."
    )
    monthlyQuota = serializers.IntegerField(
        source="monthly_quota",
        read_only=True,
        allow_null=True,
        help_text="Requests per calendar month (UTC); null = no quota.",
    )
    expiresAt = serializers.DateTimeField(source="expires_at", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", read_only=True, allow_null=True)
    usageCount = serializers.IntegerField(source="usage_count", read_only=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=ApiKey.Status.values, read_only=True)
    mode = serializers.ChoiceField(choices=ApiKey.Mode.values, read_only=True)
    endpointLimits = serializers.DictField(
        source="endpoint_limits",
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Requests per minute for single operations, on top of rateLimit.",
    )
    replacedBy = serializers.CharField(
        source="replaced_by_id",
        read_only=True,
        allow_null=True,
        help_text="The key that replaced this one in a roll; this one works until expiresAt.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "mode",
            "keyPrefix",
            "scopes",
            "rateLimit",
            "rateLimitPerHour",
            "rateLimitPerDay",
            "monthlyQuota",
            "endpointLimits",
            "status",
            "replacedBy",
            "expiresAt",
            "createdAt",
            "lastUsedAt",
            "usageCount",
            "revokedAt",
        ]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = NameField(max_length=120)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SCOPES)), min_length=1, max_length=len(SCOPES)
    )
    rateLimit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=settings.API_KEY_MAX_RATE_LIMIT
    )
    rateLimitPerHour = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.API_KEY_MAX_RATE_LIMIT * WINDOW_MAX_FACTORS["rateLimitPerHour"],
        help_text="Requests per hour; null = the default (RATE_LIMIT_PER_HOUR_DEFAULT).",
    )
    rateLimitPerDay = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.API_KEY_MAX_RATE_LIMIT * WINDOW_MAX_FACTORS["rateLimitPerDay"],
        help_text="Requests per day; null = the default (RATE_LIMIT_PER_DAY_DEFAULT).",
    )
    monthlyQuota = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MONTHLY_QUOTA_MAX,
        help_text="Requests per calendar month (UTC); null = no quota.",
    )
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)
    mode = serializers.ChoiceField(
        choices=ApiKey.Mode.values,
        default=ApiKey.Mode.LIVE,
        help_text="`test` keys (`gx_test_…`) see only test data and spend the sandbox balance.",
    )
    endpointLimits = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=settings.API_KEY_MAX_RATE_LIMIT),
        required=False,
        help_text='Requests per minute for single operations, e.g. {"cart-tryons:create": 10}.',
    )

    @staticmethod
    def create_arguments(data: dict) -> dict:
        """Validated data as apikey_create's keywords: the JWT endpoint and the portal's form create alike."""
        return {
            "name": data["name"],
            "scopes": data["scopes"],
            "rate_limit": data.get("rateLimit"),
            "rate_limit_per_hour": data.get("rateLimitPerHour"),
            "rate_limit_per_day": data.get("rateLimitPerDay"),
            "monthly_quota": data.get("monthlyQuota"),
            "expires_at": data.get("expiresAt"),
            "mode": data["mode"],
            "endpoint_limits": data.get("endpointLimits"),
        }


class ApiKeyUpdateSerializer(serializers.Serializer):
    """Every field optional; a null rate limit means the default, a null monthlyQuota none, a null expiresAt
    never."""

    name = NameField(max_length=120, required=False)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SCOPES)),
        min_length=1,
        max_length=len(SCOPES),
        required=False,
    )
    rateLimit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=settings.API_KEY_MAX_RATE_LIMIT
    )
    rateLimitPerHour = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.API_KEY_MAX_RATE_LIMIT * WINDOW_MAX_FACTORS["rateLimitPerHour"],
        help_text="Requests per hour; null = the default (RATE_LIMIT_PER_HOUR_DEFAULT).",
    )
    rateLimitPerDay = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=settings.API_KEY_MAX_RATE_LIMIT * WINDOW_MAX_FACTORS["rateLimitPerDay"],
        help_text="Requests per day; null = the default (RATE_LIMIT_PER_DAY_DEFAULT).",
    )
    monthlyQuota = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MONTHLY_QUOTA_MAX,
        help_text="Requests per calendar month (UTC); null = no quota.",
    )
    expiresAt = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="null = never; a rolled key's end can only be brought forward (409 otherwise).",
    )
    endpointLimits = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=settings.API_KEY_MAX_RATE_LIMIT),
        required=False,
        help_text="Replaces the key's per-operation limits; {} removes them.",
    )


class ApiKeyRollSerializer(serializers.Serializer):
    expiresIn = serializers.IntegerField(
        required=False,
        default=86400,
        min_value=0,
        max_value=7 * 86400,
        help_text="Seconds the old key keeps working (0 = it stops now; at most 7 days).",
    )


class ApiKeyEventSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind")
    keyId = serializers.CharField(source="api_key_id")
    actor = serializers.SerializerMethodField()
    changes = serializers.DictField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ApiKeyEvent
        fields = ["id", "type", "keyId", "actor", "changes", "createdAt"]

    def get_actor(self, event) -> str | None:
        if not event.actor_id:
            return None
        # Partners learn that GarmaxAI did it, never which employee (as on the credit ledger).
        return STAFF_ACTOR if event.actor.is_staff else event.actor.get_username()


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only in this response.")

    class Meta(ApiKeySerializer.Meta):
        fields = ["id", "name", "key", *ApiKeySerializer.Meta.fields[2:]]


class ScopeOperationSerializer(serializers.Serializer):
    method = serializers.CharField()
    path = serializers.CharField()
    operationId = serializers.CharField(allow_null=True)
    summary = serializers.CharField(allow_blank=True)


class ScopeSerializer(serializers.Serializer):
    scope = serializers.CharField()
    description = serializers.CharField()
    operations = ScopeOperationSerializer(many=True)


class ScopeCatalogueSerializer(serializers.Serializer):
    scopes = ScopeSerializer(many=True)


class WindowFiguresSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Requests the window admits.")
    remaining = serializers.IntegerField(help_text="Requests it would admit now.")
    resetAt = serializers.IntegerField(help_text="Unix seconds when it is full again.")


class KeyWindowSerializer(WindowFiguresSerializer):
    window = serializers.ChoiceField(choices=WINDOW_NAMES)


class OperationWindowSerializer(WindowFiguresSerializer):
    operation = serializers.CharField(help_text="`<resource>:<action>`, requests per minute.")


class RateLimitStatusSerializer(serializers.Serializer):
    keyId = serializers.CharField()
    keyPrefix = serializers.CharField()
    tightest = serializers.CharField(
        help_text="The window with the fewest requests left (what X-RateLimit-* report): minute, hour, day "
        "or month."
    )
    windows = KeyWindowSerializer(
        many=True, help_text="minute, hour and day (those with a limit), then month."
    )
    operations = OperationWindowSerializer(many=True, help_text="The key's per-operation limits.")


RATE_LIMIT_STATUS_EXAMPLE = {
    "keyId": "key_9f8e7d6c5b4a",
    "keyPrefix": "gx_live_ab12cd34",
    "tightest": "minute",
    "windows": [
        {"window": "minute", "limit": 60, "remaining": 59, "resetAt": 1768473001},
        {"window": "hour", "limit": 1000, "remaining": 870, "resetAt": 1768473468},
        {"window": "day", "limit": 10000, "remaining": 8702, "resetAt": 1768477736},
        {"window": "month", "limit": 50000, "remaining": 41250, "resetAt": 1769904000},
    ],
    "operations": [{"operation": "cart-tryons:create", "limit": 10, "remaining": 10, "resetAt": 1768473000}],
}
