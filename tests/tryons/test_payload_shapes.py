"""A try-on reads the same in a webhook event as in the REST answer about it (issue 12 item 2, issue 14):
items identical field for field, `variantId` null when not given, `error` as {code, message}, and cart
events carrying the session's metadata, the customer's externalId and each item's tryonId."""

import pytest

from tests.tryons.conftest import cart_item
from tryons import services
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def _same_url(value):
    # Signed URLs carry their own expiry, minted per answer: the object they point to is what must agree.
    return value.split("?")[0] if value else value


def _shared(rest: dict, event: dict) -> tuple[dict, dict]:
    keys = sorted(set(rest) & set(event))
    pick = lambda data: {key: _same_url(data[key]) if key == "resultUrl" else data[key] for key in keys}  # noqa: E731
    return pick(rest), pick(event)


def test_cart_session_event_names_and_represents_items_as_the_rest_answer(
    client, organization, photo_of, garment_server
):
    photo = photo_of(organization)
    without_variant = {key: value for key, value in cart_item(garment_server.url("/garment.png"), 2).items()}
    without_variant.pop("variantId")
    created = client.post(
        "/api/v1/cart-tryons",
        {
            "cartId": "cart_shapes",
            "customerPhotoS3Key": photo.storage_key,
            "cartItems": [cart_item(garment_server.url("/missing.png"), 1), without_variant],
            "renderQuality": "sd",
            "metadata": {"orderId": "order_789"},
        },
        format="json",
    )
    assert created.status_code == 200, created.json()
    services.cart_session_process(session_id=created.json()["id"])

    rest = client.get(f"/api/v1/cart-tryons/{created.json()['id']}").json()
    event = WebhookEvent.objects.get(event="cart_tryon.partial").data

    assert [item["status"] for item in rest["cartItems"]] == ["failed", "completed"]
    assert len(event["results"]) == len(rest["cartItems"])
    for rest_item, event_item in zip(rest["cartItems"], event["results"], strict=True):
        # Every field of a REST cart item, and nothing else, is in the event's item.
        assert set(event_item) == set(rest_item)
        expected, actual = _shared(rest_item, event_item)
        assert actual == expected
    failed, rendered = event["results"]
    assert failed["error"] == {"code": "garment_unavailable", "message": failed["error"]["message"]}
    assert failed["variantId"] == "var_1" and rendered["variantId"] is None
    assert [item["tryonId"] for item in event["results"]] == [item["tryonId"] for item in rest["cartItems"]]
    assert event["sessionId"] == rest["id"]
    assert event["metadata"] == rest["metadata"] == {"orderId": "order_789"}
    assert event["externalId"] == rest["externalId"] == photo.customer.external_id
    expected, actual = _shared(rest, event)
    assert {"cartId", "status", "itemCount", "creditsCharged", "creditsRefunded", "metadata"} <= set(expected)
    assert actual == expected


def test_single_tryon_event_names_and_represents_fields_as_the_rest_answer(
    client, organization, photo_of, garment_server
):
    photo = photo_of(organization)
    created = client.post(
        "/api/v1/tryons",
        {
            "customerPhotoS3Key": photo.storage_key,
            "productId": "prod_1",
            "imageUrl": garment_server.url("/missing.png"),
            "category": "tops",
            "renderQuality": "hd",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    services.tryon_process(tryon_id=created.json()["id"])

    rest = client.get(f"/api/v1/tryons/{created.json()['id']}").json()
    event = WebhookEvent.objects.get(event="tryon.failed").data

    assert event["tryonId"] == rest["id"]
    assert set(event) == (set(rest) - {"id"}) | {"tryonId", "organizationId"}
    expected, actual = _shared(rest, event)
    assert rest["error"]["code"] == "garment_unavailable"
    assert rest["variantId"] is None and rest["externalId"] == photo.customer.external_id
    assert actual == expected


def test_a_variant_sent_as_null_is_accepted_and_reads_back_as_null(client, organization, photo_of):
    item = {**cart_item("https://shop.example.com/a.png", 1), "variantId": None}
    created = client.post(
        "/api/v1/cart-tryons",
        {
            "cartId": "cart_null",
            "customerPhotoS3Key": photo_of(organization).storage_key,
            "cartItems": [item],
        },
        format="json",
    )
    assert created.status_code == 200, created.json()
    assert created.json()["cartItems"][0]["variantId"] is None
