"""What a hosted engine is handed with TRYON_ENGINE_INPUTS=signed-url, seen from the provider's side.

The README's production web command and a `celery -A config worker`, on FASHN's fake, a partner driving them
over HTTP (customer, photo upload, cart). The URLs the provider receives must be opaque: no organization,
customer or photo id, no storage layout; they work while the render runs and are gone once it ended.
"""

import re
import time

import pytest
import requests

from tests.concurrency import wait_until
from tests.engine_servers import FakeFashn, engine_environment
from tests.factories import make_organization
from tests.images import image_bytes
from tests.live_service import LiveService, partner_headers
from tests.workers import stop_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

EXTERNAL_ID = "shopper-7781"


@pytest.fixture
def fashn():
    fake = FakeFashn(render_seconds=3.0)
    yield fake
    fake.close()


@pytest.fixture
def stack(fashn, transactional_db, tmp_path):
    env = {
        "TRYON_RENDERER": "fashn",
        "TRYON_ENGINE_INPUTS": "signed-url",
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the fake provider and the garment server are on loopback
        **engine_environment("fashn", fashn),
    }
    (tmp_path / "web").mkdir()
    service = LiveService(tmp_path / "web", env=env).start()
    worker = service.start_worker("-c", "2", log=tmp_path / "worker.log", wait_ready=False)
    yield service
    stop_worker(worker, timeout=10)
    service.stop()
    print((tmp_path / "worker.log").read_text()[-3000:])


def test_the_urls_a_provider_gets_name_no_organization_customer_or_photo_and_expire_with_the_job(
    stack, fashn, garment_server
):
    organization = make_organization()
    headers = partner_headers(organization)
    api = stack.url("/api/v1")

    customer = requests.post(
        f"{api}/customers", json={"externalId": EXTERNAL_ID}, headers=headers, timeout=10
    )
    assert customer.status_code in (200, 201), customer.text
    photo = requests.post(
        f"{api}/customers/{EXTERNAL_ID}/photos",
        files={"photo": ("me.jpg", image_bytes(size=(600, 900)), "image/jpeg")},
        headers=headers,
        timeout=30,
    )
    assert photo.status_code == 200, photo.text
    photo_key = photo.json()["photoS3Key"]
    cart = requests.post(
        f"{api}/cart-tryons",
        json={
            "cartId": "cart_1",
            "customerPhotoS3Key": photo_key,
            "renderQuality": "sd",
            "cartItems": [
                {
                    "productId": "prod_1",
                    "variantId": "var_1",
                    "imageUrl": garment_server.url("/garment.png"),
                    "category": "tops",
                }
            ],
        },
        headers=headers,
        timeout=10,
    )
    assert cart.status_code == 200, cart.text
    session_id = cart.json()["id"]

    wait_until(lambda: fashn.requests_to("POST", "/v1/run"), timeout=60, interval=0.1)
    inputs = fashn.requests_to("POST", "/v1/run")[0]["body"]["inputs"]
    urls = [inputs["model_image"], inputs["garment_image"]]
    ids = {organization.id, customer.json()["id"], EXTERNAL_ID, *re.findall(r"photo_\w+", photo_key)}
    for url in urls:
        assert url.startswith("http"), url
        for revealing in (*ids, "enterprise/", "org-", "/photos/", "/garments/", "cust_", "photo_", "tryon_"):
            assert revealing not in url, (revealing, url)
        # While the render runs the provider can read it, and it is the image we hold.
        fetched = requests.get(url, timeout=10)
        assert fetched.status_code == 200 and fetched.headers["Content-Type"].startswith("image/")

    def finished():
        status = requests.get(f"{api}/cart-tryons/{session_id}", headers=headers, timeout=10).json()["status"]
        return status if status in ("completed", "partial", "failed") else None

    assert wait_until(finished, timeout=90, interval=0.5) == "completed"
    time.sleep(0.5)
    for url in urls:  # the job ended: its copies are gone
        gone = requests.get(url, timeout=10)
        assert gone.status_code == 404 and gone.json()["error"] == "ResourceNotFound"
