import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_concurrent_upserts_of_one_external_id_create_one_row(organization, api_key_for):
    _, raw_key = api_key_for(organization, ["customers:create"], rate_limit=1000)
    barrier = threading.Barrier(THREADS)
    statuses, errors = [], []

    def upsert(n):
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        try:
            barrier.wait()
            response = client.post(
                "/api/v1/customers", {"externalId": "racer", "name": f"writer {n}"}, format="json"
            )
            statuses.append(response.status_code)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upsert, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    assert Customer.objects.filter(organization=organization, external_id="racer").count() == 1
