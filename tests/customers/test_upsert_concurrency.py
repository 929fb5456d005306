import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_concurrent_upserts_of_one_external_id_create_one_row(organization, api_key_for):
    _, raw_key = api_key_for(organization, ["customers:create"], rate_limit=1000)
    # The race is about rows, not authentication: a key's first concurrent checks share one bcrypt turn and
    # the others are told to retry (429), so the key is verified once before the writers start.
    warm = APIClient()
    warm.credentials(HTTP_X_API_KEY=raw_key)
    assert warm.get("/api/v1/customers").status_code in (200, 403)

    def upsert(n):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        response = client.post(
            "/api/v1/customers", {"externalId": "racer", "name": f"writer {n}"}, format="json"
        )
        return response.status_code

    statuses = run_concurrently(upsert, THREADS)  # re-raises any thread's exception
    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert Customer.objects.filter(organization=organization, external_id="racer").count() == 1
