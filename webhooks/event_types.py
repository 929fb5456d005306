"""The one catalogue of webhook event types: name, description, who may subscribe, payload schema, example.

Names live in webhooks.models (EVENTS); each event's `data` is described by the serializer that builds it,
registered by the app that owns it (tryons registers the try-on and cart events in its AppConfig.ready, the
way it registers its customer eraser), so the schema published here is the code that writes the payload.
`document_events` puts every event into the OpenAPI document (`x-webhooks`, which ReDoc renders, and one
component per payload); GET /api/docs/events (webhooks/views.py) serves the same schemas as JSON Schema.
"""

from dataclasses import dataclass, field

from drf_spectacular.plumbing import process_webhooks
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from customers.bulk.serializers import CustomerImportSerializer
from organizations.serializers import CreditsField
from webhooks.models import (
    CREDITS_ADDED,
    CREDITS_LOW,
    CUSTOMERS_IMPORTED,
    EVENTS,
    SUBSCRIBABLE_EVENTS,
    WEBHOOK_TEST,
)

EXAMPLE_TIMESTAMP = "2025-12-11T10:05:00Z"


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    data: type[serializers.Serializer]
    example: dict = field(default_factory=dict)

    @property
    def subscribable(self) -> bool:
        return self.name in SUBSCRIBABLE_EVENTS

    def example_envelope(self) -> dict:
        return {"id": "evt_abc123", "event": self.name, "timestamp": EXAMPLE_TIMESTAMP, "data": self.example}

    def envelope_serializer(self) -> type[serializers.Serializer]:
        """`{id, event, timestamp, data}` as seed 001 delivers it, with this event's data."""
        data, name = self.data, self.name
        component = "".join(part.capitalize() for part in name.replace(".", "_").split("_")) + "Event"
        return type(
            component,
            (serializers.Serializer,),
            {
                "id": serializers.CharField(help_text="evt_… Also the `webhook-id` header."),
                "event": serializers.ChoiceField(choices=[name]),
                "timestamp": serializers.DateTimeField(),
                "data": data(),
                "__doc__": f"The body of a `{name}` delivery.",
            },
        )


_event_types: dict[str, EventType] = {}


def event_type_register(event_type: EventType) -> None:
    if event_type.name not in EVENTS:
        raise ValueError(f"{event_type.name!r} is not one of webhooks.models.EVENTS")
    _event_types[event_type.name] = event_type


def event_types() -> list[EventType]:
    """Every registered event type, in the order of webhooks.models.EVENTS."""
    return [_event_types[name] for name in EVENTS if name in _event_types]


class WebhookTestEventDataSerializer(serializers.Serializer):
    webhookId = serializers.CharField()
    organizationId = serializers.CharField()
    message = serializers.CharField()


event_type_register(
    EventType(
        name=WEBHOOK_TEST,
        description="Sent on request by POST /v1/webhooks/{webhookId}/test; never by subscription.",
        data=WebhookTestEventDataSerializer,
        example={
            "webhookId": "webhook_abc",
            "organizationId": "org_abc123",
            "message": "This is a test event from GarmaxAI.",
        },
    )
)


class CreditsLowEventDataSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    balance = CreditsField(help_text="The balance after the charge that crossed the threshold.")
    threshold = CreditsField(help_text="The organization's lowBalanceThreshold.")
    reference = serializers.CharField(help_text="What was charged, e.g. a cart session id.")


class CreditsAddedEventDataSerializer(serializers.Serializer):
    organizationId = serializers.CharField()
    amount = CreditsField()
    balance = CreditsField(help_text="The balance after the top-up.")
    description = serializers.CharField(allow_blank=True)


# Built in webhooks/services/credits.py and customers/bulk/representation.py;
# tests/tryons/test_event_catalogue.py checks recorded events against these schemas.
event_type_register(
    EventType(
        name=CREDITS_LOW,
        description="A charge took the balance from above the organization's lowBalanceThreshold to at or "
        "below it. Sent once; re-armed when a top-up lifts the balance above the threshold.",
        data=CreditsLowEventDataSerializer,
        example={"organizationId": "org_abc123", "balance": 18, "threshold": 20, "reference": "cts_abc123"},
    )
)
event_type_register(
    EventType(
        name=CREDITS_ADDED,
        description="Credits were added to the balance (a top-up).",
        data=CreditsAddedEventDataSerializer,
        example={
            "organizationId": "org_abc123",
            "amount": 1000,
            "balance": 1018,
            "description": "Monthly credit purchase",
        },
    )
)
event_type_register(
    EventType(
        name=CUSTOMERS_IMPORTED,
        description="A customer import job finished (completed or failed), as GET of the import shows it.",
        data=CustomerImportSerializer,
        example={
            "id": "imp_abc123",
            "status": "completed",
            "format": "csv",
            "fileName": "customers.csv",
            "sourceUrl": None,
            "progress": 100,
            "counts": {"total": 2, "processed": 2, "created": 1, "updated": 1, "unchanged": 0, "failed": 0},
            "ignoredColumns": [],
            "error": None,
            "createdAt": "2025-12-11T10:00:00Z",
            "startedAt": "2025-12-11T10:00:01Z",
            "completedAt": "2025-12-11T10:00:03Z",
        },
    )
)

_DELIVERY_DESCRIPTION = (
    "POSTed to your endpoint as JSON. `X-Webhook-Signature` is the hex HMAC-SHA256 of the raw body keyed "
    "by your `whsec_…` secret; the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and "
    "`webhook-signature` allow verification with replay protection. Answer 2xx within 30 s; otherwise it "
    "is retried after 5 s, 15 s and 45 s."
)


def _openapi_webhook(event_type: EventType) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=event_type.name,
        decorator=extend_schema(
            summary=event_type.name,
            description=f"{event_type.description}\n\n{_DELIVERY_DESCRIPTION}",
            request=event_type.envelope_serializer(),
            examples=[OpenApiExample(event_type.name, value=event_type.example_envelope())],
            responses={200: OpenApiResponse(description="Any 2xx acknowledges the delivery.")},
            tags=["Webhook events"],
            auth=[],
        ),
    )


def document_events(result, generator, request, public):
    """Postprocessing hook: every event type's payload in the OpenAPI document.

    OpenAPI 3.0 has no `webhooks` section (3.1 does), so they go under `x-webhooks`, which ReDoc renders;
    their payload schemas are ordinary components, so Swagger UI lists them too.
    """
    webhooks = process_webhooks([_openapi_webhook(e) for e in event_types()], generator.registry)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in generator.registry.build({}).get("schemas", {}).items():
        schemas.setdefault(name, schema)
    result["x-webhooks"] = webhooks
    return result
