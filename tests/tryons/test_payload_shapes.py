"""A try-on reads the same in a webhook event as in the REST answer about it (issue 12, item 2)."""

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
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    services.cart_session_process(session_id=created.json()["id"])

    rest = client.get(f"/api/v1/cart-tryons/{created.json()['id']}").json()
    event = WebhookEvent.objects.get(event="cart_tryon.partial").data

    assert [item["status"] for item in rest["cartItems"]] == ["failed", "completed"]
    assert len(event["results"]) == len(rest["cartItems"])
    for rest_item, event_item in zip(rest["cartItems"], event["results"], strict=True):
        expected, actual = _shared(rest_item, event_item)
        assert set(expected) == {"productId", "variantId", "status", "resultUrl", "error"}
        assert actual == expected
    expected, actual = _shared(rest, event)
    assert {"cartId", "status", "itemCount", "creditsCharged", "creditsRefunded"} <= set(expected)
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
    expected, actual = _shared(rest, event)
    assert set(expected) >= {"productId", "variantId", "status", "resultUrl", "error", "creditsRefunded"}
    assert rest["error"]["code"] == "garment_unavailable"
    assert actual == expected
