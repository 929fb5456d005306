"""The try-on pipeline's end states each record exactly one webhook event, delivered to the partner."""

import json

import pytest

from tests.tryons import conftest as tryon_fixtures
from tests.webhooks.factories import make_webhook
from tryons import services as tryon_services
from webhooks import tasks
from webhooks.models import WebhookDelivery, WebhookEvent

# The try-on suite's fixtures: a stored customer photo, a local garment CDN, private media, fast retries.
photo_of = tryon_fixtures.photo_of
garment_server = tryon_fixtures.garment_server
media_root = tryon_fixtures.media_root
fast_retries = tryon_fixtures.fast_retries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets", "eager_tasks")]


def _garment(url, n):
    return tryon_services.GarmentInput(
        product_id=f"prod_{n}", variant_id=f"var_{n}", image_url=url, category="tops"
    )


def _deliver_all(receiver):
    for delivery in WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING):
        tasks.deliver_endpoint(delivery.webhook_id)
    return [json.loads(r.body) for r in receiver.requests]


@pytest.mark.parametrize(
    ("broken", "expected"),
    [((), "cart_tryon.completed"), ((2,), "cart_tryon.partial"), ((1, 2), "cart_tryon.failed")],
)
def test_a_cart_emits_exactly_one_event_for_its_end_state(
    organization, photo_of, garment_server, receiver, broken, expected
):
    make_webhook(organization, receiver.url)
    photo = photo_of(organization)
    urls = [garment_server.url(f"/missing-{n}.png" if n in broken else f"/garment-{n}.png") for n in (1, 2)]
    session, _ = tryon_services.cart_session_create(
        organization_id=organization.id,
        cart_id="cart_hook",
        photo_key=photo.storage_key,
        items=[_garment(url, n) for n, url in enumerate(urls, start=1)],
        render_quality="sd",
    )
    tryon_services.cart_session_process(session_id=session.id)
    tryon_services.cart_session_process(session_id=session.id)  # a redelivered task changes nothing

    (event,) = WebhookEvent.objects.all()
    assert event.event == expected
    (payload,) = _deliver_all(receiver)
    assert payload["id"] == event.id and payload["event"] == expected
    data = payload["data"]
    assert data["sessionId"] == session.id and data["cartId"] == "cart_hook"
    assert data["organizationId"] == organization.id and data["itemCount"] == 2
    assert data["failureCount"] == len(broken) and data["successCount"] == 2 - len(broken)
    assert [r["productId"] for r in data["results"]] == ["prod_1", "prod_2"]
    for result in data["results"]:
        assert set(result) >= {"productId", "variantId", "status", "resultUrl"}


@pytest.mark.parametrize(
    ("path", "expected"), [("/garment-1.png", "tryon.completed"), ("/gone.png", "tryon.failed")]
)
def test_a_single_tryon_emits_exactly_one_event(
    organization, photo_of, garment_server, receiver, path, expected
):
    make_webhook(organization, receiver.url)
    photo = photo_of(organization)
    tryon = tryon_services.tryon_create(
        organization_id=organization.id,
        photo_key=photo.storage_key,
        garment=_garment(garment_server.url(path), 1),
        render_quality="sd",
    )
    tryon_services.tryon_process(tryon_id=tryon.id)
    tryon_services.tryon_process(tryon_id=tryon.id)

    (event,) = WebhookEvent.objects.all()
    assert event.event == expected
    (payload,) = _deliver_all(receiver)
    assert payload["event"] == expected and payload["data"]["organizationId"] == organization.id
