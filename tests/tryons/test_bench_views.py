"""The bench's comparison views (bench/apikeys_urls.py) must do the partner endpoints' work, or the ratios
that bench/tryons_status_poll.py and bench/tryons_cart_create.py print compare different things."""

import json
from decimal import Decimal

import pytest
from django.contrib import admin

from bench.tryons_http import CART_ITEMS, garments
from organizations.models import CreditLedgerEntry
from tryons.models import CartTryOnSession


@pytest.fixture
def bench_urls(settings):
    # The bench URLconf also serves the drf-api-key peer, whose app only the bench settings install.
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "rest_framework_api_key"]
    settings.ROOT_URLCONF = "bench.apikeys_urls"
    yield
    # Installing the app re-ran the admin's autodiscovery, which registered the peer's model on the admin
    # site; left there, every later admin index page is a 500 (its app is no longer installed).
    for model in [
        model for model in admin.site._registry if model._meta.app_label == "rest_framework_api_key"
    ]:
        admin.site.unregister(model)


def _create_body(photo_key: str, cart_id: str) -> str:
    return json.dumps(
        {"cartId": cart_id, "customerPhotoS3Key": photo_key, "cartItems": garments(), "renderQuality": "sd"}
    )


def _without_identity(session: dict) -> dict:
    """A create's answer minus what differs between two sessions by nature: ids, cartId, times."""
    ignored = {"id", "tryonId", "cartId", "createdAt", "estimatedCompletionTime"}
    answer = {k: v for k, v in session.items() if k not in ignored}
    answer["cartItems"] = [
        {k: v for k, v in item.items() if k not in ignored} for item in session["cartItems"]
    ]
    return answer


def test_the_bare_status_view_answers_the_partner_poll_byte_for_byte(
    bench_urls, organization, partner_client, make_cart_session, client
):
    session = make_cart_session([f"https://cdn.example.com/{n}.jpg" for n in range(CART_ITEMS)])
    partner = partner_client(organization, ["tryon:read"]).get(f"/api/v1/cart-tryons/{session.id}")
    bare = client.get(f"/bench/bare-cart/{session.id}", {"org": organization.id})

    assert partner.status_code == bare.status_code == 200
    assert bare.json() == partner.json()
    assert len(bare.json()["cartItems"]) == CART_ITEMS


def test_the_bare_create_view_prices_charges_and_answers_as_the_partner_create(
    bench_urls, organization, partner_client, photo_of, client
):
    photo = photo_of(organization)
    start = organization.credits

    partner = partner_client(organization, ["tryon:create"]).post(
        "/api/v1/cart-tryons",
        _create_body(photo.storage_key, "cart-partner"),
        content_type="application/json",
    )
    bare = client.post(
        f"/bench/bare-cart-create?org={organization.id}",
        _create_body(photo.storage_key, "cart-bare"),
        content_type="application/json",
    )

    assert partner.status_code == bare.status_code == 200
    assert _without_identity(bare.json()) == _without_identity(partner.json())
    assert bare.json()["creditsCharged"] == 12  # 20 sd items at the 40 % volume discount
    organization.refresh_from_db()
    assert start - organization.credits == Decimal("24.00")
    assert CartTryOnSession.objects.filter(organization=organization).count() == 2
    assert CreditLedgerEntry.objects.filter(organization=organization, kind="charge").count() == 2
