"""cart_tryon.cancelled (issue 14): sent once when a session is cancelled, saying what was refunded."""

import pytest

from tests.tryons.conftest import cart_item
from tests.webhooks.factories import make_webhook
from tryons.models import CartTryOnSession
from webhooks.models import WebhookDelivery, WebhookEvent

URL = "/api/v1/cart-tryons"


@pytest.fixture
def client(organization, partner_client):
    return partner_client(organization)


def _create(client, photo, count=3):
    items = [cart_item(f"https://shop.example.com/{n}.png", n) for n in range(1, count + 1)]
    created = client.post(
        URL,
        {
            "cartId": "cart_cancel",
            "customerPhotoS3Key": photo.storage_key,
            "cartItems": items,
            "renderQuality": "hd",
            "metadata": {"orderId": "order_1"},
        },
        format="json",
    )
    assert created.status_code == 200, created.json()
    return created.json()


def test_cancelling_a_queued_session_sends_one_cancelled_event_with_the_full_refund(
    client, organization, photo_of, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    subscribed = make_webhook(organization, "https://127.0.0.1:9/cancelled", events=["cart_tryon.cancelled"])
    make_webhook(organization, "https://127.0.0.1:9/completed", events=["cart_tryon.completed"])
    photo = photo_of(organization)
    session = _create(client, photo)

    cancelled = client.post(f"{URL}/{session['id']}/cancel")
    assert cancelled.status_code == 200
    client.post(f"{URL}/{session['id']}/cancel")  # again: no second refund, no second event

    (event,) = WebhookEvent.objects.filter(event="cart_tryon.cancelled")
    data = event.data
    assert data["sessionId"] == session["id"]
    assert data["status"] == "cancelled"
    assert data["cancellation"] == {"refundedCredits": 6, "refundedItemCount": 3, "itemStillRendering": False}
    assert data["creditsCharged"] == data["creditsRefunded"] == 6
    assert data["metadata"] == {"orderId": "order_1"}
    assert data["externalId"] == photo.customer.external_id
    assert [r["tryonId"] for r in data["results"]] == [i["tryonId"] for i in cancelled.json()["cartItems"]]
    assert {r["status"] for r in data["results"]} == {"cancelled"}
    assert data["cancelledAt"] == cancelled.json()["cancelledAt"]
    # Only the endpoint subscribed to it gets a delivery.
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == [subscribed.id]


def test_a_finished_session_cannot_be_cancelled_and_sends_no_cancelled_event(client, organization, photo_of):
    session = _create(client, photo_of(organization), count=1)
    CartTryOnSession.objects.filter(pk=session["id"]).update(status="completed")
    assert client.post(f"{URL}/{session['id']}/cancel").status_code == 409
    assert not WebhookEvent.objects.filter(event="cart_tryon.cancelled").exists()


def test_another_organizations_session_is_a_404_and_sends_nothing(
    client, organization, other_organization, partner_client, photo_of
):
    session = _create(client, photo_of(organization), count=1)
    response = partner_client(other_organization).post(f"{URL}/{session['id']}/cancel")
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_a_webhook_can_subscribe_to_cancelled_sessions(organization, partner_client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    client = partner_client(organization, scopes=("webhooks:manage",))
    created = client.post(
        "/api/v1/webhooks",
        {"url": "https://127.0.0.1:9/hooks", "events": ["cart_tryon.cancelled"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["events"] == ["cart_tryon.cancelled"]
