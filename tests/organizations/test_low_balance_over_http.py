"""Issue 27 item M5, from the attacker's side: a sandbox reset re-arms `credits.low` as a top-up does.

Against the README's production command: a partner spends its test balance below the threshold with a test
key, resets the sandbox, and does it again. Each crossing is one `credits.low` event (test mode); today the
second and third crossings sent nothing, because only a top-up re-armed the alert.
"""

import uuid

import pytest

from organizations.events import CREDITS_LOW
from organizations.models import Organization
from tests.factories import UserFactory, make_organization
from tests.images import person_jpeg
from tests.live_service import jwt_headers, live_service, partner_headers, response_json  # noqa: F401
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

GARMENT = "https://93.184.216.34/garments/shirt.png"  # a public address: no lookup at create


def test_three_spend_and_reset_cycles_send_three_credits_low_events(live_service, transactional_db):  # noqa: F811
    owner = UserFactory()
    shop = make_organization(owner=owner, name="Acme", billing_email="billing@acme.example")  # threshold 20
    partner = partner_headers(shop, name="ci", mode="test")
    jwt = jwt_headers(owner)

    def call(method: str, path: str, **kwargs) -> dict:
        return response_json(live_service, method, path, **kwargs)

    call("POST", "/api/v1/customers", json={"externalId": "shopper"}, headers=partner)
    photo = call(
        "POST",
        "/api/v1/customers/shopper/photos",
        files={"photo": ("me.jpg", person_jpeg((600, 800)), "image/jpeg")},
        headers=partner,
    )
    balances = []
    for _ in range(3):
        for _ in range(2):  # 20 items in 4k: 20 × 4 × 0.6 = 48 credits each; 100 → 52 → 4
            call(
                "POST",
                "/api/v1/cart-tryons",
                json={
                    "cartId": f"cart-{uuid.uuid4()}",
                    "customerPhotoS3Key": photo["photoS3Key"],
                    "renderQuality": "4k",
                    "cartItems": [
                        {"productId": f"p{n}", "imageUrl": GARMENT, "category": "tops"} for n in range(20)
                    ],
                },
                headers=partner,
            )
        balances.append(call("GET", "/api/v1/account", headers=partner))
        call("POST", f"/api/organizations/{shop.id}/sandbox/reset", headers=jwt)

    sandbox = Organization.objects.get(sandbox_of=shop)
    crossings = WebhookEvent.objects.filter(organization=sandbox, event=CREDITS_LOW.name).count()
    assert crossings == 3, balances
