from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.date_parameters import DateTimeParameterField
from api.events import event_names, subscribable_event_names
from api.metadata import MetadataField
from api.text import PlainTextField
from api.url_fields import OutboundURLField
from webhooks.custom_headers import MASK, MAX_HEADERS, MAX_VALUE_LENGTH, VALUE_PATTERN, custom_headers_masked
from webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from webhooks.retry_policy import MAX_DELAY_SECONDS, MAX_RETRIES, MAX_SCHEDULE_LENGTH, retry_policy_of


class RetryPolicySerializer(serializers.Serializer):
    maxRetries = serializers.IntegerField(
        min_value=0, max_value=MAX_RETRIES, help_text="Retries after the first attempt fails (0-8)."
    )
    schedule = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DELAY_SECONDS),
        min_length=1,
        max_length=MAX_SCHEDULE_LENGTH,
        required=False,
        help_text="Seconds before each retry (default 5, 15, 45); retries beyond it wait 3x the one before.",
    )


class RetryPolicyReadSerializer(serializers.Serializer):
    maxRetries = serializers.IntegerField()
    schedule = serializers.ListField(
        child=serializers.IntegerField(), help_text="Seconds before each retry, one per retry."
    )
    inherited = serializers.BooleanField(
        help_text="true: the organization's policy (settings.webhookRetries, 5 s / 15 s / 45 s), followed as "
        "it changes; false: this endpoint's own."
    )


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "type": "string",
            "nullable": True,
            "maxLength": MAX_VALUE_LENGTH,
            "pattern": VALUE_PATTERN,
        },
        "maxProperties": MAX_HEADERS,
        "example": {"Authorization": "Bearer shop-receiver-token"},
    }
)
class CustomHeadersField(serializers.JSONField):
    """Header name: value; checked by webhooks.custom_headers (names, values, how many)."""


class WebhookSerializer(serializers.ModelSerializer):
    isActive = serializers.BooleanField(source="is_active", read_only=True)
    consecutiveFailures = serializers.IntegerField(
        source="consecutive_failures",
        read_only=True,
        help_text="Deliveries in a row that failed after all their retries (not attempts); at 10 the "
        "endpoint is disabled. Any successful delivery resets it.",
    )
    disabledAt = serializers.DateTimeField(source="disabled_at", read_only=True, allow_null=True)
    disabledReason = serializers.CharField(source="disabled_reason", read_only=True)
    previousSecretExpiresAt = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=subscribable_event_names()), read_only=True
    )
    retryPolicy = serializers.SerializerMethodField()
    metadata = serializers.DictField(read_only=True, help_text="Your JSON, as you gave it.")
    headers = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "retryPolicy",
            "metadata",
            "headers",
            "isActive",
            "consecutiveFailures",
            "disabledAt",
            "disabledReason",
            "previousSecretExpiresAt",
            "createdAt",
            "updatedAt",
        ]

    @extend_schema_field(RetryPolicyReadSerializer)
    def get_retryPolicy(self, webhook) -> dict:
        return retry_policy_of(webhook).as_json()

    @extend_schema_field(
        {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": [MASK]},
            "description": "The names of the headers sent with every delivery; values are never shown.",
        }
    )
    def get_headers(self, webhook) -> dict:
        return custom_headers_masked(webhook.headers)

    @extend_schema_field({"type": "string", "format": "date-time", "nullable": True})
    def get_previousSecretExpiresAt(self, webhook) -> str | None:
        if not webhook.previous_secret or webhook.previous_secret_expires_at is None:
            return None
        return serializers.DateTimeField().to_representation(webhook.previous_secret_expires_at)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="whsec_… Shown only in this response.")

    class Meta(WebhookSerializer.Meta):
        fields = ["id", "url", "events", "secret", *WebhookSerializer.Meta.fields[3:]]


class WebhookCreateSerializer(serializers.Serializer):
    url = OutboundURLField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=subscribable_event_names()),
        min_length=1,
        max_length=len(subscribable_event_names()),
    )
    description = PlainTextField(max_length=500, required=False, allow_blank=True, default="")
    retryPolicy = RetryPolicySerializer(
        required=False, allow_null=True, help_text="null: the organization's (5 s, 15 s, 45 s)."
    )
    metadata = MetadataField(required=False, help_text="Your JSON (at most 8 KB), returned as given.")
    headers = CustomHeadersField(
        required=False,
        help_text="Up to 10 headers sent with every delivery; values are write-only.",
    )


class WebhookUpdateSerializer(serializers.Serializer):
    url = OutboundURLField(max_length=2048, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=subscribable_event_names()),
        min_length=1,
        max_length=len(subscribable_event_names()),
        required=False,
    )
    description = PlainTextField(max_length=500, required=False, allow_blank=True)
    retryPolicy = RetryPolicySerializer(
        required=False, allow_null=True, help_text="null: the organization's (5 s, 15 s, 45 s)."
    )
    metadata = MetadataField(required=False, help_text="Your JSON (at most 8 KB), returned as given.")
    headers = CustomHeadersField(
        required=False,
        help_text="Up to 10 headers; values are write-only. Merged into the current ones: a null value "
        "removes that header.",
    )
    isActive = serializers.BooleanField(required=False, help_text="true re-enables and resets failures.")


class WebhookTestResultSerializer(serializers.Serializer):
    delivered = serializers.BooleanField()
    statusCode = serializers.IntegerField(allow_null=True)
    durationMs = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    deliveryId = serializers.CharField()
    eventId = serializers.CharField()


class WebhookAttemptSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: a derived integer's bounds are the database's (the document would
    # differ between SQLite and PostgreSQL).
    number = serializers.IntegerField(min_value=1, help_text="1 for the first attempt, then 2, 3, …")
    attemptedAt = serializers.DateTimeField(source="attempted_at")
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    durationMs = serializers.IntegerField(source="duration_ms")
    responseBody = serializers.CharField(source="response_body", help_text="The first KB of the response.")

    class Meta:
        model = WebhookAttempt
        fields = ["number", "attemptedAt", "succeeded", "statusCode", "durationMs", "responseBody", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhookId = serializers.CharField(source="webhook_id")
    eventId = serializers.CharField(source="event_id")
    event = serializers.ChoiceField(source="event.event", choices=event_names())
    attemptCount = serializers.IntegerField(source="attempt_count")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    attempts = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhookId",
            "eventId",
            "event",
            "status",
            "attemptCount",
            "nextAttemptAt",
            "lastStatusCode",
            "lastError",
            "deliveredAt",
            "createdAt",
            "attempts",
        ]


class WebhookDeliveryPageSerializer(serializers.Serializer):
    data = WebhookDeliverySerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    hasMore = serializers.BooleanField()


class WebhookRecoverSerializer(serializers.Serializer):
    since = DateTimeParameterField(help_text="Re-send events whose delivery failed at or after this time.")


class WebhookRecoverResultSerializer(serializers.Serializer):
    recovered = serializers.IntegerField(help_text="How many events were queued for redelivery.")
    deliveryIds = serializers.ListField(child=serializers.CharField())


class WebhookRotatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True, help_text="The new secret. Shown only in this response.")

    class Meta(WebhookSerializer.Meta):
        fields = ["id", "secret", "previousSecretExpiresAt"]


class EventTypeSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="The `event` field of the delivered body.")
    description = serializers.CharField()
    subscribable = serializers.BooleanField(help_text="Whether a webhook can list it in `events`.")
    schema = serializers.DictField(help_text="JSON Schema (2020-12) of the whole delivered body.")
    example = serializers.DictField(help_text="An example delivered body.")


class EventCatalogueSerializer(serializers.Serializer):
    events = EventTypeSerializer(many=True)
