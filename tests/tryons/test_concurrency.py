from decimal import Decimal

import pytest

from organizations.models import CreditLedgerEntry
from organizations.services import credits_adjust
from tests.concurrency import run_concurrently
from tryons.models import CartTryOnSession


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_carts_on_ten_credits_create_exactly_ten(
    organization, photo_of, partner_client, billing_staff
):
    credits_adjust(organization=organization, amount=-90, description="leave 10", actor=billing_staff)
    photo = photo_of(organization)
    client = partner_client(organization)
    client.get("/api/v1/cart-tryons")  # warm the verified-key cache so bcrypt is not the bottleneck

    def create(n):
        response = client.post(
            "/api/v1/cart-tryons",
            {
                "cartId": f"cart-{n}",
                "customerPhotoS3Key": photo.storage_key,
                "renderQuality": "sd",
                "cartItems": [
                    {"productId": "p", "imageUrl": "https://shop.example.com/a.png", "category": "tops"}
                ],
            },
            format="json",
        )
        return response.status_code, response.json().get("error")

    results = run_concurrently(create, 30)

    assert sorted(results).count((200, None)) == 10
    assert sorted(results).count((403, "InsufficientCredits")) == 20
    organization.refresh_from_db()
    assert organization.credits == Decimal("0")
    assert CartTryOnSession.objects.count() == 10
    assert CreditLedgerEntry.objects.filter(organization=organization, kind="charge").count() == 10
