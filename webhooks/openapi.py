"""The event catalogue (api.events) as partners read it: the OpenAPI document's webhooks and the JSON of
GET /api/docs/events.

`document_events` puts every event into the OpenAPI document (`x-webhooks`, which ReDoc renders, and one
component per payload); `event_catalogue` serves the same schemas as JSON Schema. Each event's `data` is
described by the serializer its owner declared beside the builder, so the schema published is the code
that writes the payload.
"""

import functools

from drf_spectacular.plumbing import process_webhooks
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from api.events import EventType, event_types
from api.schema import json_schema, openapi_document

EXAMPLE_TIMESTAMP = "2025-12-11T10:05:00Z"

_DELIVERY_DESCRIPTION = (
    "POSTed to your endpoint as JSON. `X-Webhook-Signature` is the hex HMAC-SHA256 of the raw body keyed "
    "by your `whsec_…` secret; the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and "
    "`webhook-signature` allow verification with replay protection. Answer 2xx within 30 s; otherwise it "
    "is retried after 5 s, 15 s and 45 s."
)


def example_envelope(event_type: EventType) -> dict:
    return {
        "id": "evt_abc123",
        "event": event_type.name,
        "timestamp": EXAMPLE_TIMESTAMP,
        "data": event_type.example,
    }


def envelope_serializer(event_type: EventType) -> type[serializers.Serializer]:
    """`{id, event, timestamp, data}` as seed 001 delivers it, with this event's data."""
    data, name = event_type.data, event_type.name
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


def _openapi_webhook(event_type: EventType) -> OpenApiWebhook:
    return OpenApiWebhook(
        name=event_type.name,
        decorator=extend_schema(
            summary=event_type.name,
            description=f"{event_type.description}\n\n{_DELIVERY_DESCRIPTION}",
            request=envelope_serializer(event_type),
            examples=[OpenApiExample(event_type.name, value=example_envelope(event_type))],
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


@functools.cache
def event_catalogue() -> list[dict]:
    """Every event with the JSON Schema of its delivered body, taken from the OpenAPI document."""
    document = openapi_document()
    components = document["components"]["schemas"]
    catalogue = []
    for event_type in event_types():
        body = document["x-webhooks"][event_type.name]["post"]["requestBody"]["content"]["application/json"]
        catalogue.append(
            {
                "event": event_type.name,
                "description": event_type.description,
                "subscribable": event_type.subscribable,
                "schema": json_schema(body["schema"], components),
                "example": example_envelope(event_type),
            }
        )
    return catalogue
