"""The webhook event catalogue (issue 14): GET /api/docs/events and the OpenAPI document's x-webhooks.

Every event type is listed with a JSON Schema of the delivered body and an example; the schema is the one
generated from the serializers that build the payloads, so a real recorded event must validate against it.
"""

import json

import pytest
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from tests.tryons.conftest import cart_item
from tryons import services
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

# The order partners read the events in (api.events.OWNERS, then each app's declarations); the published
# documents keep it.
EVENTS = [
    "cart_tryon.completed",
    "cart_tryon.partial",
    "cart_tryon.failed",
    "cart_tryon.cancelled",
    "tryon.completed",
    "tryon.failed",
    "garment.ready",
    "garment.failed",
    "garments.imported",
    "customers.imported",
    "credits.low",
    "credits.added",
    "webhook_endpoint.disabled",
    "webhook.test",
]


@pytest.fixture
def catalogue():
    response = APIClient().get("/api/docs/events")
    assert response.status_code == 200
    return {entry["event"]: entry for entry in response.json()["events"]}


def test_every_event_type_is_listed_with_its_subscribability(catalogue):
    assert list(catalogue) == EVENTS
    for name, entry in catalogue.items():
        assert entry["subscribable"] is (name != "webhook.test")
        assert entry["description"]


def test_each_schema_is_valid_json_schema_and_its_example_conforms_field_for_field(catalogue):
    assert catalogue
    for name, entry in catalogue.items():
        schema, example = entry["schema"], entry["example"]
        Draft202012Validator.check_schema(schema)
        errors = [f"{list(e.path)}: {e.message}" for e in Draft202012Validator(schema).iter_errors(example)]
        assert not errors, (name, errors)
        assert example["event"] == name
        # Examples show every field the payload has, no more and no fewer.
        assert set(example["data"]) == set(schema["properties"]["data"]["properties"]), name
        assert set(schema["properties"]["data"]["required"]) == set(
            schema["properties"]["data"]["properties"]
        )


def test_a_wrong_payload_is_refused_by_the_schema(catalogue):
    schema = catalogue["cart_tryon.completed"]["schema"]
    example = catalogue["cart_tryon.completed"]["example"]
    broken = json.loads(json.dumps(example))
    broken["data"]["results"][0]["error"] = "a string, not {code, message}"
    del broken["data"]["externalId"]
    assert len(list(Draft202012Validator(schema).iter_errors(broken))) == 2


@pytest.mark.usefixtures("allow_private")
def test_events_the_pipeline_records_validate_against_the_catalogue(
    catalogue, organization, partner_client, photo_of, garment_server
):
    client = partner_client(organization)
    photo = photo_of(organization)
    partial = client.post(
        "/api/v1/cart-tryons",
        {
            "cartId": "cart_catalogue",
            "customerPhotoS3Key": photo.storage_key,
            "cartItems": [
                cart_item(garment_server.url("/missing.png"), 1),
                {**cart_item(garment_server.url("/garment.png"), 2), "variantId": None},
            ],
            "metadata": {"orderId": "order_1"},
        },
        format="json",
    ).json()
    services.cart_session_process(session_id=partial["id"])
    cancelled = client.post(
        "/api/v1/cart-tryons",
        {
            "cartId": "cart_cancelled",
            "customerPhotoS3Key": photo.storage_key,
            "cartItems": [cart_item(garment_server.url("/garment.png"), 3)],
        },
        format="json",
    ).json()
    client.post(f"/api/v1/cart-tryons/{cancelled['id']}/cancel")
    single = client.post(
        "/api/v1/tryons",
        {"customerPhotoS3Key": photo.storage_key, **cart_item(garment_server.url("/garment.png"), 4)},
        format="json",
    ).json()
    services.tryon_process(tryon_id=single["id"])

    recorded = {event.event: json.loads(event.body) for event in WebhookEvent.objects.all()}
    assert set(recorded) == {"cart_tryon.partial", "cart_tryon.cancelled", "tryon.completed"}
    for name, body in recorded.items():
        validator = Draft202012Validator(catalogue[name]["schema"])
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, (name, errors)


def test_the_openapi_document_carries_every_payload_and_links_the_catalogues():
    document = APIClient().get("/api/schema", {"format": "json"}).json()
    assert list(document["x-webhooks"]) == EVENTS
    for name, item in document["x-webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]
        component = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert component in document["components"]["schemas"], name
        assert next(iter(body["examples"].values()))["value"]["event"] == name
    description = document["info"]["description"]
    assert "(/api/docs/events)" in description and "(/api/docs/scopes)" in description
    assert "/api/docs/events" in document["paths"] and "/api/docs/scopes" in document["paths"]


def test_the_catalogue_needs_no_credentials_and_refuses_writes():
    assert APIClient().get("/api/docs/events").status_code == 200
    response = APIClient().post("/api/docs/events", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


def test_credit_events_recorded_validate_against_the_catalogue(catalogue, organization, billing_staff):
    from decimal import Decimal

    from organizations import services as organization_services

    organization_services.credits_charge(
        organization_id=organization.id, amount=Decimal("85"), reference="cts_x"
    )
    organization_services.credits_top_up(
        organization=organization, amount=Decimal("500"), actor=billing_staff
    )

    recorded = {event.event: json.loads(event.body) for event in WebhookEvent.objects.all()}
    assert set(recorded) == {"credits.low", "credits.added"}
    for name, body in recorded.items():
        errors = [
            f"{list(e.path)}: {e.message}"
            for e in Draft202012Validator(catalogue[name]["schema"]).iter_errors(body)
        ]
        assert not errors, (name, errors)
        assert set(body["data"]) == set(catalogue[name]["example"]["data"]), name
