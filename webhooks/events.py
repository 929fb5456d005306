"""The events the webhooks app sends itself (api.events): an endpoint disabled after its failures, to the
organization's other endpoints that subscribed, and the test event, on request only."""

from rest_framework import serializers

from api.events import event_type_declare
from api.timestamps import timestamp_text
from organizations.partner_ids import partner_organization_id
from webhooks.models import Webhook


class WebhookTestEventDataSerializer(serializers.Serializer):
    webhookId = serializers.CharField()
    organizationId = serializers.CharField()
    message = serializers.CharField()


class WebhookEndpointDisabledEventDataSerializer(serializers.Serializer):
    webhookId = serializers.CharField(help_text="The endpoint that was disabled.")
    url = serializers.CharField()
    organizationId = serializers.CharField()
    reason = serializers.CharField(help_text="Why: its failed deliveries in a row, or a 410 Gone answer.")
    consecutiveFailures = serializers.IntegerField(help_text="Deliveries that had failed in a row by then.")
    disabledAt = serializers.DateTimeField()


def _endpoint_disabled_data(*, webhook: Webhook) -> dict:
    return {
        "webhookId": webhook.id,
        "url": webhook.url,
        "organizationId": partner_organization_id(webhook.organization_id),
        "reason": webhook.disabled_reason,
        "consecutiveFailures": webhook.consecutive_failures,
        "disabledAt": timestamp_text(webhook.disabled_at),
    }


def _test_data(*, webhook: Webhook) -> dict:
    return {
        "webhookId": webhook.id,
        "organizationId": partner_organization_id(webhook.organization_id),
        "message": "This is a test event from GarmaxAI.",
    }


# Declared before the test event, which partners read last.
WEBHOOK_ENDPOINT_DISABLED = event_type_declare(
    name="webhook_endpoint.disabled",
    owner="webhooks",
    description="One of the organization's endpoints was disabled automatically: 10 deliveries in a row "
    "failed after their retries, or it answered 410 Gone. Sent to the organization's other enabled "
    "endpoints that subscribed (never to the disabled one); re-enable it in the portal or with PATCH "
    '/v1/webhooks/{webhookId} {"isActive": true}.',
    data=WebhookEndpointDisabledEventDataSerializer,
    build=_endpoint_disabled_data,
    example={
        "webhookId": "webhook_abc",
        "url": "https://shop.example/hooks/garmax",
        "organizationId": "org_abc123",
        "reason": "10 consecutive deliveries failed.",
        "consecutiveFailures": 10,
        "disabledAt": "2026-01-15T10:30:00Z",
    },
)
WEBHOOK_TEST = event_type_declare(
    name="webhook.test",
    owner="webhooks",
    description="Sent on request by POST /v1/webhooks/{webhookId}/test; never by subscription.",
    data=WebhookTestEventDataSerializer,
    build=_test_data,
    example={
        "webhookId": "webhook_abc",
        "organizationId": "org_abc123",
        "message": "This is a test event from GarmaxAI.",
    },
    subscribable=False,
)
