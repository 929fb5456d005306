"""The one event the webhooks app sends itself (api.events): the test event, on request only."""

from rest_framework import serializers

from api.events import event_type_declare
from organizations.partner_ids import partner_organization_id
from webhooks.models import Webhook


class WebhookTestEventDataSerializer(serializers.Serializer):
    webhookId = serializers.CharField()
    organizationId = serializers.CharField()
    message = serializers.CharField()


def _test_data(*, webhook: Webhook) -> dict:
    return {
        "webhookId": webhook.id,
        "organizationId": partner_organization_id(webhook.organization_id),
        "message": "This is a test event from GarmaxAI.",
    }


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
