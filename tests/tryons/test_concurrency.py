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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rows_of_the_organization_go_in_while_another_create_holds_the_charge_lock(organization):
    """A charge locks the organization row until its commit; rows that merely point at the organization
    (a create's session and items, before its own charge) must not queue behind it. PostgreSQL's
    foreign-key check share-locks the organization's key, which a plain FOR UPDATE would block."""
    import threading

    from django.db import connection, connections, transaction

    from customers.models import Customer
    from organizations.services import credits_charge

    locked, release = threading.Event(), threading.Event()

    def charge_and_hold():
        try:
            with transaction.atomic():
                credits_charge(organization_id=organization.id, amount=1, reference="held-charge")
                locked.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=charge_and_hold)
    holder.start()
    try:
        assert locked.wait(timeout=20)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            # Raises OperationalError (lock timeout) if the insert waits for the charge's commit.
            Customer.objects.create(organization=organization, external_id="while-charging")
    finally:
        release.set()
        holder.join(timeout=20)
    assert CreditLedgerEntry.objects.filter(reference="held-charge").count() == 1
