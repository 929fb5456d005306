"""An Idempotency-Key makes a try-on create happen once, even when the duplicate races the first."""

import pytest

from api import idempotency
from tests.tryons.test_cart_tryons_api import IMAGE
from tryons.models import TryOn

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.redis]


class FirstFinishesAfterTheRead:
    """The shared cache, except that right after the duplicate's first read of the idempotency record
    (which finds nothing yet) the first request runs to completion: stores its response, frees its lock."""

    def __init__(self, real, run_first):
        self._real, self._run_first, self.armed = real, run_first, True

    def __getattr__(self, name):
        return getattr(self._real, name)

    def get(self, key, *args, **kwargs):
        value = self._real.get(key, *args, **kwargs)
        if self.armed and key.startswith("idem:") and not key.endswith(":lock"):
            self.armed = False
            self._run_first()
        return value


def test_a_duplicate_arriving_as_the_first_finishes_replays_instead_of_charging_again(
    organization, partner_client, photo_of, monkeypatch
):
    client = partner_client(organization)
    payload = {
        "customerPhotoS3Key": photo_of(organization).storage_key,
        "productId": "prod_001",
        "imageUrl": IMAGE,
        "category": "dresses",
        "renderQuality": "4k",
    }

    def send():
        return client.post("/api/v1/tryons", payload, format="json", HTTP_IDEMPOTENCY_KEY="tryon-42")

    first = []
    monkeypatch.setattr(
        idempotency, "cache", FirstFinishesAfterTheRead(idempotency.cache, lambda: first.append(send()))
    )
    second = send()

    assert first[0].status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first[0].json()["id"]
    assert TryOn.objects.count() == 1
    organization.refresh_from_db()
    assert organization.credits == 96  # one 4k try-on (4 credits), charged once
