"""The garment catalogue's test helpers: the worker's fetch jobs run on demand, a garment registered over the
API, and a cart of catalogue items processed as the worker would."""

import pytest

from tryons import services
from tryons.catalogue import services as catalogue

URL = "/api/v1/garments"


@pytest.fixture
def fetches(monkeypatch):
    """The fetch jobs the services queue, run on demand as the worker would."""
    queued = []

    def enqueue(task, job, countdown=None):
        if task == catalogue.FETCH_TASK:  # a cart's own run is started by the test itself
            queued.append(job)

    monkeypatch.setattr("tryons.services.queue.enqueue", enqueue)
    # A retry is queued like a first fetch; its delay is kept for the test to read.
    monkeypatch.setattr(
        "tryons.services.queue.enqueue_later",
        lambda task, job, countdown: (enqueue(task, job), run.delays.append(countdown)),
    )

    def run():
        """The queued jobs, run once each; what they queue (a retry) waits for the next run."""
        jobs = list(queued)
        queued.clear()
        return [catalogue.garment_fetch(job=job) for job in jobs]

    run.queued = queued
    run.delays = []
    return run


def register_garment(client, garment_server, *, product="tee", image="tshirt", category="tops", **extra):
    """POST /v1/garments for `product` with the garment server's `image` (tshirt, jeans, dress, jacket)."""
    body = {
        "productId": product,
        "imageUrl": garment_server.url(f"/garments/{image}.png"),
        "category": category,
    }
    return client.post(URL, {**body, **extra}, format="json")


def catalogue_cart(organization, photo_of, items, capture, cart_id="cart_1"):
    session, _ = services.cart_session_create(
        organization_id=organization.id,
        cart_id=cart_id,
        photo_key=photo_of(organization).storage_key,
        items=[
            services.GarmentInput(
                product_id=f"p{n}",
                image_url=item.get("image_url", ""),
                category=item.get("category", ""),
                garment_id=item.get("garment_id", ""),
            )
            for n, item in enumerate(items)
        ],
        render_quality="sd",
    )
    with capture(execute=True):
        services.cart_session_process(session_id=session.id)
    session.refresh_from_db()
    return session
