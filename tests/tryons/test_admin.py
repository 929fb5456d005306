"""The cart session admin: cancelling (it refunds credits) needs its own permission, held by billing."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from organizations.models import CreditLedgerEntry
from tryons import services
from tryons.models import CartTryOnSession

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:tryons_carttryonsession_changelist"
IMAGE = "https://shop.example.com/products/tshirt.jpg"


@pytest.fixture
def session(organization, photo_of):
    created, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id="cart-1",
        photo_key=photo_of(organization).storage_key,
        items=[services.GarmentInput(product_id="p", variant_id="", image_url=IMAGE, category="tops")],
        render_quality="hd",
    )
    return created


def cancel(client, session):
    return client.post(
        reverse(CHANGELIST),
        # "post" answers the confirmation page: even a confirmed cancel is refused without the permission.
        {"action": "cancel_sessions", ACTION_CHECKBOX_NAME: [session.pk], "post": "yes"},
        follow=True,
    )


def test_support_staff_cannot_cancel_sessions_or_trigger_refunds(
    client, support_staff, organization, session
):
    client.force_login(support_staff)
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "cancel_sessions" not in listing

    cancel(client, session)

    session.refresh_from_db()
    assert session.status == CartTryOnSession.Status.QUEUED
    assert not CreditLedgerEntry.objects.filter(organization=organization, kind="refund").exists()
    organization.refresh_from_db()
    assert organization.credits == Decimal("98")


def test_a_partner_cancel_records_no_staff_actor(organization, partner_client, session):
    response = partner_client(organization).post(f"/api/v1/cart-tryons/{session.id}/cancel")
    assert response.status_code == 200, response.json()
    assert CreditLedgerEntry.objects.get(organization=organization, kind="refund").actor is None
